/**
 * Drawing Today's day from its model (heading, note, items, gates, cards: what
 * components/today.js works out, and what the snapshot keeps): the day card and its
 * ring, the series cards, the checklist and the gates.  Plain drawing with no storage,
 * so the first-paint script (today-first-paint.js) draws the snapshot with it before the
 * page's modules have loaded, and Today draws the state owner's day with it after.
 */
import {renderChecklist} from './checklist.js';
import {renderCards} from './cards.js';

const RING_LENGTH = 113.1;

/**
 * Draw `model` into `view`; `ticks` maps "day|item" to done.  `record(day, item, done)`
 * keeps a tick (resolves once kept); `logSession(change)`, the "log it" buttons of the
 * cards (without it they wait, disabled).
 */
export function paintDay(view, model, ticks, {record, logSession = null}) {
  const doneToday = () => model.items.filter((item) => ticks.get(`${model.today}|${item.id}`));
  const changed = () => {
    showProgress(view, model.items.length, doneToday().length);
    renderCards(view.querySelector('[data-cards]'), model.cards || [], {
      itemsLeft: model.items.length - doneToday().length,
      evening: model.evening,
      sessionLoggedMs: model.sessionLoggedMs || 0,
      logSession,
    });
  };
  view.querySelector('[data-day-heading]').textContent = model.heading;
  view.querySelector('[data-day-note]').textContent = model.note;
  renderChecklist(view.querySelector('[data-checklist]'), {
    day: model.today,
    items: model.items,
    ticks: new Map(model.items.map((item) => [item.id, ticks.get(`${model.today}|${item.id}`)])),
    record,
    onChange: (item, done) => {
      ticks.set(`${model.today}|${item}`, done);
      changed();
    },
  });
  renderGates(view.querySelector('[data-gates]'), model.gates);
  changed();
}

/** Today's checklist in place of the onboarding form, whatever the boot script guessed. */
export function showToday(root) {
  document.documentElement.removeAttribute('data-first-visit');
  root.querySelector('[data-onboarding]').hidden = true;
  root.querySelector('[data-today]').hidden = false;
  revealTheRest(root);
}

/** Show what waits below Today's top part, in the frame that part appears in. */
export function revealTheRest(root) {
  for (const part of root.querySelectorAll('[data-reveal]')) part.classList.remove('reveal-later');
}

function showProgress(view, total, done) {
  // Nothing to tick (before a session, a wrong clock) is not "all done": the ring stays empty.
  const percent = total ? Math.round((100 * done) / total) : 0;
  const text = total ? `${done} of ${total} done today` : 'Nothing to tick today';
  // In the circle's own length (2 pi r, r = 18), not pathLength, which SVG 1.1 lacks.
  view.querySelector('[data-ring-done]').setAttribute('stroke-dasharray', `${(percent * RING_LENGTH) / 100} ${RING_LENGTH}`);
  view.querySelector('[data-ring-label]').textContent = text;
  view.querySelector('[data-progress-text]').textContent = text;
}

function renderGates(list, gates) {
  list.replaceChildren(
    ...gates.map((gate) => {
      // A snapshot taken by an older version holds {days_left, message}.
      const open = 'open' in gate ? gate.open : !gate.days_left;
      const row = document.createElement('li');
      row.className = open ? 'gate gate--open' : 'gate';
      row.textContent = gate.text || gate.message;
      return row;
    }),
  );
}
