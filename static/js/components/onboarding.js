/**
 * The onboarding form on Today: works offline, creates the plan on this
 * phone at once.  The first date defaults to today (set here, not by the
 * server, so the precached page stays the same for everyone).
 */
import {getSchedule} from '../lib/api.js';
import {DEFAULT_DAY_START_HOUR, addDays, daysBetween, deviceTimeZone, localDay} from '../lib/days.js';
import {randomId} from '../lib/ids.js';
import {modeFor} from '../lib/plan.js';
import {FURTHEST_AHEAD_DAYS} from '../lib/series.js';
import {clearWhenChanged, showFormError} from './form-errors.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
// Where the client has microneedling: at a clinic, or at home with their own device.
const SETTINGS = ['clinic', 'home'];

/**
 * Show the form and resolve with the new plan once it is valid.
 * @param {HTMLFormElement} form
 * @returns {Promise<object>}
 */
export function runOnboarding(form) {
  const today = localDay(new Date(), deviceTimeZone(), DEFAULT_DAY_START_HOUR);
  const lastSession = form.elements.last_session;
  // The form is on screen before this script runs: keep a date already typed.
  lastSession.value ||= today;
  lastSession.max = today;
  form.elements.next_session.min = today;
  form.hidden = false;
  // Disabled in the HTML: a tap before this script arrived would have sent the answers away.
  form.querySelector('[type=submit]').disabled = false;
  // The form's wording follows the answer to "Where do you have microneedling?"
  // (also an answer the browser restored on a reload).
  followSetting(form);
  form.addEventListener('change', (event) => {
    if (event.target.name === 'setting') followSetting(form);
  });
  // A message about the question just answered is out of date.
  clearWhenChanged(form);
  return new Promise((resolve) => {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const answers = Object.fromEntries(new FormData(form));
        const plan = buildPlan(answers, await getSchedule());
        form.hidden = true;
        resolve(plan);
      } catch (problem) {
        // The button is at the foot of a long form: the message goes beside its question.
        showFormError(form, problem.message, problem.field);
      }
    });
  });
}

/** Show the parts of the form meant for the chosen setting (none before a choice). */
function followSetting(form) {
  const chosen = form.elements.setting.value;
  for (const part of form.querySelectorAll('[data-for-setting]')) {
    part.hidden = part.dataset.forSetting !== chosen;
  }
  // At home she may set up before her first session: its date may be ahead.
  const today = localDay(new Date(), deviceTimeZone(), DEFAULT_DAY_START_HOUR);
  form.elements.last_session.max = chosen === 'home' ? addDays(today, MAX_DAYS_AHEAD) : today;
}

/** Refuse the answers with a message about one question (the form shows it there). */
function refuse(field, message) {
  const problem = new Error(message);
  problem.field = field;
  throw problem;
}

// A first session further ahead than this is a typing mistake, not a plan.
const MAX_DAYS_AHEAD = 365;

/**
 * A new plan from the onboarding answers; throws an Error whose message the form
 * shows (its `field`, when set, names the question it is about).
 */
function buildPlan(answers, schedule, now = new Date()) {
  const timeZone = deviceTimeZone();
  const today = localDay(now, timeZone, DEFAULT_DAY_START_HOUR);
  if (!SETTINGS.includes(answers.setting)) {
    refuse('setting', 'Choose where you have microneedling: at a clinic, or at home with your own device.');
  }
  const last = answers.last_session;
  const next = answers.next_session || null;
  if (!DATE.test(last || '')) refuse('last_session', 'Enter the date of your most recent session.');
  // At home, a date ahead is her first session, still to come: pre-care until then.
  const startsPlanned = answers.setting === 'home' && last > today;
  if (last > today && !startsPlanned) {
    refuse('last_session', 'The most recent session cannot be in the future.');
  }
  if (daysBetween(today, last) > MAX_DAYS_AHEAD) refuse('last_session', 'That date is more than a year away.');
  if (daysBetween(last, today) > 365) refuse('last_session', 'That session is more than a year ago.');
  if (next && (!DATE.test(next) || next <= last)) {
    refuse('next_session', 'The next session must come after the most recent one.');
  }
  if (next && daysBetween(today, next) > FURTHEST_AHEAD_DAYS) {
    refuse('next_session', 'The next session is more than 2 years away. Check the year.');
  }
  const sessionNumber = Number(answers.session_number);
  const planned = Number(answers.planned_sessions);
  if (!(sessionNumber >= 1 && planned >= sessionNumber)) {
    refuse('planned_sessions', 'The planned number of sessions must include this one.');
  }
  return {
    planId: randomId(16),
    createdAt: now.toISOString(),
    setting: answers.setting,
    timeZone,
    dayStartHour: DEFAULT_DAY_START_HOUR,
    sessions: [{day: last, number: sessionNumber}],
    ...(startsPlanned ? {startsPlanned: true} : {}),
    nextSession: next,
    plannedSessions: planned,
    skinType: answers.skin_type,
    pihHistory: answers.pih_history,
    mode: modeFor(schedule, answers.skin_type, answers.pih_history),
    protocol: schedule.protocol,
    schedule,
  };
}

