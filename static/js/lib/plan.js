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
  // A plan set up before its first session keeps it planned until it is logged.
  const first = {session: 'initial', ...plan.sessions[0], status: plan.startsPlanned ? 'planned' : 'done'};
  const session = currentSession(series, today) || series.find((s) => s.status === 'done') || first;
  return {today, session, dayNumber: daysBetween(session.day, today), yesterday: addDays(today, -1)};
}

/**
 * The items and gates of one day of the run (the "ongoing" list after the recovery
 * run), in the plan's setting.  `daysToNext` (days until the next planned session,
 * if any) adds the protocol's pre-care items for that day before the session.
 */
export function dayPlan(plan, dayNumber, daysToNext = null, sessionDone = true) {
  const mode = plan.schedule.modes[plan.mode];
  if (dayNumber < 0 || !sessionDone) {
    // Before the first session (set up ahead at home): only that session's pre-care,
    // and on its day nothing of the aftercare until she logs that it happened.
    return {ongoing: false, before: true, items: itemsFor(plan, precareOn(mode, dayNumber)), gates: []};
  }
  const ongoing = dayNumber > plan.schedule.recovery_days;
  const entry = ongoing ? mode.ongoing : mode.days[Math.max(0, dayNumber)];
  const precare = daysToNext > 0 ? precareOn(mode, -daysToNext) : [];
  const ids = [...new Set([...precare, ...entry.items])];
  return {ongoing, precare: precare.length > 0, items: itemsFor(plan, ids), gates: entry.gates};
}

/** Item ids of the pre-care day `dayNumber` (-1 is the day before a session); none in older schedules. */
function precareOn(mode, dayNumber) {
  return (mode.before || []).find((day) => day.day === dayNumber)?.items || [];
}

/** The plan's setting: "clinic" unless the person needles at home (older plans have none). */
export function settingOf(plan) {
  return plan.setting === 'home' ? 'home' : 'clinic';
}

/** Items by id as the plan's setting words them, leaving out those for the other setting. */
function itemsFor(plan, ids) {
  const setting = settingOf(plan);
  const items = plan.schedule.modes[plan.mode].items;
  return ids
    .map((id) => items[id])
    .filter((item) => !item.settings || item.settings.includes(setting))
    .map((item) => (setting === 'home' && item.home ? {...item, ...item.home} : item))
    .map((item) => ({...item, source: sourceFor(plan.schedule, item.source)}));
}

/**
 * A source as {citation, link}: newer schedules name sources by id in
 * `schedule.sources`; older ones (kept on phones since) carry the citation text.
 */
export function sourceFor(schedule, reference) {
  const known = schedule.sources?.[reference];
  return known ? {citation: known.citation, link: known.link} : {citation: String(reference || ''), link: ''};
}

/** "if your skin is calm…": the condition every "may be OK again" answer carries. */
export function conditionFor(plan) {
  const condition = plan.schedule.condition;
  if (!condition) return 'if your skin is calm and your practitioner agrees';
  return condition[settingOf(plan)];
}
