/**
 * Plans on the device: the mode for a skin type, and where a plan stands
 * today (session, day number, the day's items).  No DOM here.
 */
import {addDays, daysBetween, localDay} from './days.js';
import {currentSession} from './series.js';

/** Standard mode only where the schedule says so; anything unsure gets the stricter mode. */
export function modeFor(schedule, skinType, pihHistory) {
  const rule = schedule.standard_mode_for;
  const standard = rule.skin_types.includes(skinType) && rule.pih_history.includes(pihHistory);
  return standard ? 'standard' : 'pih_risk';
}

/**
 * Where the plan stands at `now`: today's local day, the latest done session
 * of the series (see series.buildSeries) and today's day number after it.
 */
export function currentRun(plan, series, now = new Date()) {
  const today = localDay(now, plan.timeZone, plan.dayStartHour);
  // Every done session may have been moved past today or removed on another
  // device: fall back to the earliest one so Today still shows a day.
  const first = {session: 'initial', ...plan.sessions[0], status: 'done'};
  const session = currentSession(series, today) || series.find((s) => s.status === 'done') || first;
  return {today, session, dayNumber: daysBetween(session.day, today), yesterday: addDays(today, -1)};
}

/** The items and gates of one day of the run (the "ongoing" list after the recovery run). */
export function dayPlan(plan, dayNumber) {
  const mode = plan.schedule.modes[plan.mode];
  const ongoing = dayNumber > plan.schedule.recovery_days;
  const entry = ongoing ? mode.ongoing : mode.days[Math.max(0, dayNumber)];
  return {ongoing, items: entry.items.map((id) => mode.items[id]), gates: entry.gates};
}
