/**
 * Plans on the device: checking the onboarding answers, and working out the
 * current session, day number and mode.  No DOM here.
 */
import {addDays, daysBetween, DEFAULT_DAY_START_HOUR, deviceTimeZone, localDay} from './days.js';
import {randomId} from './ids.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Standard mode only where the schedule says so; anything unsure gets the stricter mode. */
export function modeFor(schedule, skinType, pihHistory) {
  const rule = schedule.standard_mode_for;
  const standard = rule.skin_types.includes(skinType) && rule.pih_history.includes(pihHistory);
  return standard ? 'standard' : 'pih_risk';
}

/** A new plan from the onboarding answers; throws an Error whose message the form shows. */
export function buildPlan(answers, schedule, now = new Date()) {
  const timeZone = deviceTimeZone();
  const today = localDay(now, timeZone, DEFAULT_DAY_START_HOUR);
  const last = answers.last_session;
  const next = answers.next_session || null;
  if (!DATE.test(last || '')) throw new Error('Enter the date of your most recent session.');
  if (last > today) throw new Error('The most recent session cannot be in the future.');
  if (daysBetween(last, today) > 365) throw new Error('That session is more than a year ago.');
  if (next && (!DATE.test(next) || next <= last)) {
    throw new Error('The next session must come after the most recent one.');
  }
  const sessionNumber = Number(answers.session_number);
  const planned = Number(answers.planned_sessions);
  if (!(sessionNumber >= 1 && planned >= sessionNumber)) {
    throw new Error('The planned number of sessions must include this one.');
  }
  return {
    planId: randomId(16),
    createdAt: now.toISOString(),
    timeZone,
    dayStartHour: DEFAULT_DAY_START_HOUR,
    sessions: [{day: last, number: sessionNumber}],
    nextSession: next,
    plannedSessions: planned,
    skinType: answers.skin_type,
    pihHistory: answers.pih_history,
    mode: modeFor(schedule, answers.skin_type, answers.pih_history),
    protocol: schedule.protocol,
    schedule,
  };
}

/** Where the plan stands at `now`: today's local day, the latest session and its day number. */
export function currentRun(plan, now = new Date()) {
  const today = localDay(now, plan.timeZone, plan.dayStartHour);
  const started = plan.sessions.filter((s) => s.day <= today);
  const session = started[started.length - 1] || plan.sessions[0];
  return {today, session, dayNumber: daysBetween(session.day, today), yesterday: addDays(today, -1)};
}

/** The items and gates of one day of the run (the "ongoing" list after the recovery run). */
export function dayPlan(plan, dayNumber) {
  const mode = plan.schedule.modes[plan.mode];
  const ongoing = dayNumber > plan.schedule.recovery_days;
  const entry = ongoing ? mode.ongoing : mode.days[Math.max(0, dayNumber)];
  return {ongoing, items: entry.items.map((id) => mode.items[id]), gates: entry.gates};
}
