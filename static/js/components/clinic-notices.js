/**
 * Your clinic changed a session: said once, in words, at the top of Today and
 * Sessions ("Your clinic moved session 2 to Monday 4 January").  lib/sync-answer.js
 * keeps the clinic's session edits that reach a phone after its first sync;
 * this shows them and empties the list, so each is said once.
 */
import {buildSeries, seedEvents} from '../lib/series.js';
import {planState} from '../lib/plan-state.js';
import {formatDay} from './due-cards.js';

export async function startClinicNotices(root) {
  const box = root.querySelector('[data-clinic-notices]');
  if (!box) return;
  const state = await planState();
  const show = async () => {
    const changes = state.meta('clinicChanges') || [];
    const plan = state.plan;
    if (!changes.length || !plan) return;
    await state.setMeta('clinicChanges', []);
    const series = buildSeries(plan, state.sessionEvents());
    // A session the plan was set up with has no stored edit before the clinic's: its seed.
    const seeds = seedEvents(plan);
    const said = changes.map(({before, after}) =>
      inWords({before: before || seeds.find((s) => s.session === after.session) || null, after}, series),
    );
    box.querySelector('ul').append(...said.map((text) => Object.assign(document.createElement('li'), {textContent: text})));
    box.hidden = false;
  };
  box.querySelector('button').addEventListener('click', () => {
    box.hidden = true;
    box.querySelector('ul').replaceChildren();
  });
  state.subscribe((change) => change.sessions && !change.local && show());
  return show();
}

/** One change of the clinic's in a sentence, numbered as the series stands now. */
export function inWords({before, after}, series) {
  const at = (event) => `${formatDay(event.day)}${event.time ? ` at ${event.time}` : ''}`;
  const standing = series.find((s) => s.session === after.session);
  const name = standing ? `session ${standing.number}` : 'a session';
  if (after.status === 'cancelled') return `Your clinic cancelled the session on ${at(before || after)}.`;
  if (!before || before.status === 'cancelled') return `Your clinic added ${name} on ${at(after)}.`;
  if (before.day !== after.day) return `Your clinic moved ${name} to ${at(after)}.`;
  if (after.status === 'done' && before.status !== 'done') return `Your clinic logged ${name} on ${at(after)} as done.`;
  if (before.time !== after.time) return `Your clinic changed the time of ${name} to ${at(after)}.`;
  return `Your clinic updated ${name} on ${at(after)}.`;
}
