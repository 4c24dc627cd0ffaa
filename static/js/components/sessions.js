/**
 * The Sessions page: the series with done and planned sessions ("Session 2
 * of 4"), the window for the next one, and add / edit / log / remove, all
 * offline: each change is a session event saved on the phone and synced
 * like a tick.
 */
import {addDays, daysBetween, localDay} from '../lib/days.js';
import {randomId} from '../lib/ids.js';
import {sourceFor} from '../lib/plan.js';
import {
  FURTHEST_AHEAD_DAYS,
  FURTHEST_BACK_DAYS,
  buildSeries,
  changeConsequences,
  firstFreeDay,
  nextWindow,
  totalSessions,
  upcoming,
} from '../lib/series.js';
import {googleCalendarUrl, sessionCalendarFile} from '../lib/session-calendar.js';
import {planState} from '../lib/plan-state.js';
import {formatDay} from './due-cards.js';
import {clearFormError, showFormError} from './form-errors.js';

export async function startSessions(root) {
  const view = root.querySelector('[data-sessions]');
  if (!view) return;
  const form = view.querySelector('[data-session-form]');
  const warning = form.querySelector('[data-form-warning]');
  const saveButton = form.querySelector('[type=submit]');
  let state = null; // {plan, events, series, today}
  let editing = null; // the session being edited, or null when adding
  // The change she was warned about: saving exactly it again is her "yes".
  let warnedAbout = '';

  const owner = await planState();
  const draw = () => {
    const plan = owner.plan;
    root.querySelector('[data-sessions-none]').hidden = Boolean(plan);
    view.hidden = !plan;
    if (!plan) return;
    const events = owner.sessionEvents();
    const series = buildSeries(plan, events);
    state = {plan, events, series, today: localDay(new Date(), plan.timeZone, plan.dayStartHour)};
    renderSummary(view, state);
    renderList(view.querySelector('[data-session-list]'), state, {edit: openForm, change: save});
  };

  function openForm(session = null) {
    editing = session;
    form.querySelector('[data-form-heading]').textContent = session ? `Change session ${session.number}` : 'Add a session';
    form.elements.day.value = session ? session.day : firstFreeDay(state.plan, state.series, state.today);
    form.elements.time.value = session?.time || '';
    form.elements.done.checked = session ? session.status === 'done' : false;
    clearFormError(form);
    unwarn();
    form.hidden = false;
    form.querySelector('[data-form-heading]').focus();
  }

  function unwarn() {
    warnedAbout = '';
    warning.hidden = true;
    saveButton.textContent = 'Save';
  }

  /** Say what the change would do and ask again; false when there is nothing to ask. */
  function warn(change) {
    const said = consequencesInWords(state, change, editing);
    // A new session gets a new random id each time the form is read: compare what she chose.
    const key = JSON.stringify({...change, session: editing ? change.session : ''});
    if (!said.length || warnedAbout === key) return false;
    warnedAbout = key;
    warning.querySelector('[data-warning-list]').replaceChildren(
      ...said.map((text) => Object.assign(document.createElement('li'), {textContent: text})),
    );
    warning.hidden = false;
    saveButton.textContent = 'Save anyway';
    warning.scrollIntoView({block: 'center'});
    warning.focus({preventScroll: true});
    return true;
  }

  // Drawn again when the state owner says the sessions changed.
  const save = (change) => owner.recordSession(change);

  view.querySelector('[data-add-session]').addEventListener('click', () => openForm());
  form.querySelector('[data-cancel-form]').addEventListener('click', () => (form.hidden = true));
  // Any answer changed: what she was warned about is no longer what Save would do.
  form.addEventListener('input', () => {
    clearFormError(form);
    unwarn();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormError(form);
    let change;
    try {
      change = readForm(form, state, editing);
    } catch (problem) {
      showFormError(form, problem.message, problem.field);
      return;
    }
    if (warn(change)) return;
    await save(change);
    unwarn();
    form.hidden = true;
    announce(view, savedInWords(change, editing));
  });
  owner.subscribe((change) => (change.sessions || change.plan) && draw());
  draw();
}

/** A session event's fields from the form; throws an Error (with the `field` it is about). */
function readForm(form, {today, series}, editing) {
  const day = form.elements.day.value;
  const time = form.elements.time.value || null;
  const done = form.elements.done.checked;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) refuse('day', 'Enter the date of the session.');
  if (time && !/^\d{2}:\d{2}$/.test(time)) refuse('time', 'Enter the time as hours and minutes, or leave it empty.');
  if (done && day > today) refuse('done', 'A session in the future cannot be logged as done yet.');
  // The server refuses dates this far off: a year typed wrong would never sync.
  if (day < addDays(today, -FURTHEST_BACK_DAYS) || day > addDays(today, FURTHEST_AHEAD_DAYS)) {
    refuse('day', `${formatDay(day)} is more than 3 years back or 2 years ahead. Check the year.`);
  }
  const doneCount = series.filter((s) => s.status === 'done').length;
  if (!done && editing?.status === 'done' && doneCount === 1) {
    refuse('done', 'Keep at least one session logged as done: your aftercare counts from it.');
  }
  return {session: editing ? editing.session : randomId(12), day, time, status: done ? 'done' : 'planned'};
}

function refuse(field, message) {
  const problem = new Error(message);
  problem.field = field;
  throw problem;
}

/** What saving `change` would do that is worth a second tap, in sentences (none: just save). */
function consequencesInWords({plan, events}, change, editing) {
  const found = changeConsequences(plan, events, change);
  const {renumbered} = found;
  // A session kept on its date (a new time, logged as done) was agreed to when it was set.
  const close = editing?.day === change.day ? [] : found.close;
  const shortest = plan.schedule.series.interval_min_days;
  const said = close.map((other) => {
    const apart = daysBetween(change.day, other.day);
    const days = `${Math.abs(apart)} day${Math.abs(apart) === 1 ? '' : 's'}`;
    const gap = apart === 0 ? 'the same day' : apart > 0 ? `${days} after this date` : `${days} before this date`;
    return `Session ${other.number} is on ${formatDay(other.day)}, ${gap}.`;
  });
  if (close.length) said.push(`Sessions are usually at least ${shortest} days apart, so the skin can settle in between.`);
  if (renumbered.length) {
    const moves = renumbered.map((s) => `session ${s.number} (${formatDay(s.day)}) becomes session ${s.to}`);
    said.push(`The sessions are numbered in date order, so ${joinWords(moves)}.`);
  }
  return said;
}

function savedInWords(change, editing) {
  const when = `${formatDay(change.day)}${change.time ? ` at ${change.time}` : ''}`;
  if (!editing) return `Session added on ${when}.`;
  return `Session ${editing.number} saved: ${when}${change.status === 'done' ? ', done' : ''}.`;
}

function joinWords(parts) {
  return parts.length < 2 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** Said once in the page's polite status line, and shown under the list. */
function announce(view, text) {
  view.querySelector('[data-sessions-status]').textContent = text;
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

function renderList(list, {plan, events, series, today}, {edit, change}) {
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
      if (session.status === 'planned' && session.day >= today) actions.append(...calendarLinks(session, plan.timeZone));
      const onlyDone = session.status === 'done' && series.filter((s) => s.status === 'done').length === 1;
      // The aftercare run counts from a done session: the last one stays.
      if (!onlyDone) actions.append(
        button('Remove', 'button button--quiet', () => {
          const removal = {...fields(session), status: 'cancelled'};
          const {renumbered} = changeConsequences(plan, events, removal);
          const after = renumbered.length
            ? ` The later sessions move up one: ${renumbered.map((s) => `session ${s.number} becomes session ${s.to}`).join(', ')}.`
            : '';
          if (window.confirm(`Remove session ${session.number} on ${formatDay(session.day)}?${after}`)) {
            change(removal).catch((error) => window.alert(error.message));
          }
        }),
      );
      row.append(when, actions);
      return row;
    }),
  );
}

const fields = ({session, day, time, status}) => ({session, day, time, status});

/** "iPhone Calendar" (a one-event file, which Calendar opens) and "Google Calendar" (Android). */
function calendarLinks(session, timeZone) {
  const file = sessionCalendarFile(session, timeZone, location.host);
  const download = Object.assign(document.createElement('a'), {
    className: 'button button--quiet',
    href: `data:text/calendar;charset=utf-8,${encodeURIComponent(file)}`,
    download: `session-${session.number}.ics`,
    textContent: 'iPhone Calendar',
  });
  download.setAttribute('aria-label', `iPhone Calendar: session ${session.number}`);
  download.dataset.calendarFile = '';
  const google = Object.assign(document.createElement('a'), {
    className: 'button button--quiet',
    href: googleCalendarUrl(session, timeZone),
    target: '_blank',
    rel: 'noopener',
    textContent: 'Google Calendar',
  });
  google.setAttribute('aria-label', `Google Calendar: session ${session.number}`);
  google.dataset.googleCalendar = '';
  return [download, google];
}

function button(label, className, onClick) {
  const node = document.createElement('button');
  Object.assign(node, {type: 'button', className, textContent: label});
  node.dataset.action = label;
  node.addEventListener('click', onClick);
  return node;
}
