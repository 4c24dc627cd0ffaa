/**
 * The Sessions page: the series with done and planned sessions ("Session 2
 * of 4"), the window for the next one, and add / edit / log / remove, all
 * offline: each change is a session event saved on the phone and synced
 * like a tick.
 */
import {addDays, localDay} from '../lib/days.js';
import {randomId} from '../lib/ids.js';
import {sourceFor} from '../lib/plan.js';
import {
  FURTHEST_AHEAD_DAYS,
  FURTHEST_BACK_DAYS,
  buildSeries,
  nextWindow,
  totalSessions,
  upcoming,
} from '../lib/series.js';
import {loadPlan, recordSession, sessionEvents} from '../lib/store.js';
import {formatDay} from './due-cards.js';

export async function startSessions(root) {
  const view = root.querySelector('[data-sessions]');
  if (!view) return;
  const form = view.querySelector('[data-session-form]');
  let state = null; // {plan, series, today}
  let editing = null; // the session being edited, or null when adding

  const draw = async () => {
    const plan = await loadPlan();
    root.querySelector('[data-sessions-none]').hidden = Boolean(plan);
    view.hidden = !plan;
    if (!plan) return;
    const series = buildSeries(plan, await sessionEvents());
    state = {plan, series, today: localDay(new Date(), plan.timeZone, plan.dayStartHour)};
    renderSummary(view, state);
    renderList(view.querySelector('[data-session-list]'), state, {edit: openForm, change: save});
  };

  function openForm(session = null) {
    editing = session;
    form.querySelector('[data-form-heading]').textContent = session ? `Change session ${session.number}` : 'Add a session';
    form.elements.day.value = session ? session.day : upcomingDefault(state);
    form.elements.time.value = session?.time || '';
    form.elements.done.checked = session ? session.status === 'done' : false;
    form.querySelector('[data-form-error]').hidden = true;
    form.hidden = false;
    form.querySelector('[data-form-heading]').focus();
  }

  async function save(change) {
    await recordSession(change);
    document.dispatchEvent(new CustomEvent('aftercare:sessions-changed'));
  }

  view.querySelector('[data-add-session]').addEventListener('click', () => openForm());
  form.querySelector('[data-cancel-form]').addEventListener('click', () => (form.hidden = true));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = form.querySelector('[data-form-error]');
    try {
      const change = readForm(form, state, editing);
      await save(change);
      form.hidden = true;
    } catch (problem) {
      error.textContent = problem.message;
      error.hidden = false;
    }
  });
  document.addEventListener('aftercare:sessions-changed', draw);
  document.addEventListener('aftercare:remote-changes', draw);
  await draw();
}

/** A session event's fields from the form; throws an Error the form shows. */
function readForm(form, {today, series}, editing) {
  const day = form.elements.day.value;
  const time = form.elements.time.value || null;
  const done = form.elements.done.checked;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error('Enter the date of the session.');
  if (time && !/^\d{2}:\d{2}$/.test(time)) throw new Error('Enter the time as hours and minutes, or leave it empty.');
  if (done && day > today) throw new Error('A session in the future cannot be logged as done yet.');
  // The server refuses dates this far off: a year typed wrong would never sync.
  if (day < addDays(today, -FURTHEST_BACK_DAYS) || day > addDays(today, FURTHEST_AHEAD_DAYS)) {
    throw new Error(`${formatDay(day)} is more than 3 years back or 2 years ahead. Check the year.`);
  }
  const doneCount = series.filter((s) => s.status === 'done').length;
  if (!done && editing?.status === 'done' && doneCount === 1) {
    throw new Error('Keep at least one session logged as done: your aftercare counts from it.');
  }
  return {session: editing ? editing.session : randomId(12), day, time, status: done ? 'done' : 'planned'};
}

function upcomingDefault({series, plan, today}) {
  const window = nextWindow(series, plan.schedule, today);
  return window && window.earliest > today ? window.earliest : today;
}

function renderSummary(view, {plan, series, today}) {
  const total = totalSessions(plan, series);
  const done = series.filter((s) => s.status === 'done').length;
  const latestDone = series.filter((s) => s.status === 'done' && s.day <= today).pop();
  view.querySelector('[data-series-heading]').textContent = latestDone
    ? `Session ${latestDone.number} of ${total} done`
    : `${done} of ${total} sessions done`;
  const window = nextWindow(series, plan.schedule, today);
  const next = upcoming(series, today);
  let text = '';
  if (next) text = `Next: session ${next.number} on ${formatDay(next.day)}${next.time ? ` at ${next.time}` : ''}. `;
  if (window) {
    text += `After session ${latestDone.number}, the next one would usually be between ${formatDay(window.earliest)} and ${formatDay(window.latest)}.`;
  }
  view.querySelector('[data-series-window]').textContent = text || 'All planned sessions are done.';
  const source = sourceFor(plan.schedule, plan.schedule.series.source);
  view.querySelector('[data-series-source]').textContent = source.citation ? `Source: ${source.citation}` : '';
}

function renderList(list, {plan, series, today}, {edit, change}) {
  const total = totalSessions(plan, series);
  list.replaceChildren(
    ...series.map((session) => {
      const row = document.createElement('li');
      row.className = 'session';
      row.dataset.session = session.session;
      row.dataset.status = session.status;
      const when = document.createElement('p');
      when.className = 'session__when';
      const title = document.createElement('strong');
      title.textContent = `Session ${session.number} of ${total}`;
      const status = document.createElement('span');
      status.className = 'session__status';
      status.textContent = session.status === 'done' ? 'Done' : session.day < today ? 'Not logged' : 'Planned';
      when.append(title, status, document.createElement('br'), `${formatDay(session.day)}${session.time ? `, ${session.time}` : ''}`);
      const actions = document.createElement('p');
      actions.className = 'actions';
      if (session.status === 'planned' && session.day <= today) {
        actions.append(button('Log as done', 'button', () => change({...fields(session), status: 'done'})));
      }
      actions.append(button('Change', 'button button--quiet', () => edit(session)));
      const onlyDone = session.status === 'done' && series.filter((s) => s.status === 'done').length === 1;
      // The aftercare run counts from a done session: the last one stays.
      if (!onlyDone) actions.append(
        button('Remove', 'button button--quiet', () => {
          if (window.confirm(`Remove session ${session.number} on ${formatDay(session.day)}?`)) {
            change({...fields(session), status: 'cancelled'}).catch((error) => window.alert(error.message));
          }
        }),
      );
      row.append(when, actions);
      return row;
    }),
  );
}

const fields = ({session, day, time, status}) => ({session, day, time, status});

function button(label, className, onClick) {
  const node = document.createElement('button');
  Object.assign(node, {type: 'button', className, textContent: label});
  node.dataset.action = label;
  node.addEventListener('click', onClick);
  return node;
}
