/**
 * The treatment series on the device, as on the server (pwa/care/series.py): the
 * onboarding answers are seed events any edit outranks, session events are
 * merged per session by the tick rule, cancelled sessions drop out, and the
 * rest are numbered in date order.  No DOM here.
 */
import {addDays, daysBetween} from './days.js';
import {isLater} from './merge.js';

const SEED_DEVICE = 'plan-seed';
// How far a session's date may be from today, as the server allows (pwa/care/series.py
// FURTHEST_BACK and FURTHEST_AHEAD; tests/browser/test_sessions.py keeps them equal).
export const FURTHEST_BACK_DAYS = 3 * 365;
export const FURTHEST_AHEAD_DAYS = 2 * 365;

function seed(session, day, status) {
  return {id: `seed-${session}`, device: SEED_DEVICE, counter: 0, ts: 0, session, day, time: null, status};
}

/** The onboarding answers as session events (a plan set up before its first session seeds it planned). */
export function seedEvents(plan) {
  const status = plan.startsPlanned ? 'planned' : 'done';
  const seeds = plan.sessions.map((s) => seed(`initial-${s.number}`, s.day, status));
  if (plan.nextSession) seeds.push(seed('initial-next', plan.nextSession, 'planned'));
  return seeds;
}

/** The standing sessions in date order: {session, day, time, status, number}. */
export function buildSeries(plan, events) {
  const latest = new Map();
  for (const event of [...seedEvents(plan), ...events]) {
    const current = latest.get(event.session);
    if (!current || isLater(event, current)) latest.set(event.session, event);
  }
  const order = (s) => `${s.day} ${s.time || ''} ${s.session}`;
  const standing = [...latest.values()]
    .filter((s) => s.status !== 'cancelled')
    .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const first = plan.sessions[0];
  const earlier = standing.filter((s) => s.day < first.day).length;
  const firstNumber = Math.max(1, first.number - earlier);
  return standing.map((s, index) => ({
    session: s.session,
    day: s.day,
    time: s.time,
    status: s.status,
    number: firstNumber + index,
  }));
}

export function totalSessions(plan, series) {
  return Math.max(plan.plannedSessions, series.length ? series[series.length - 1].number : 0);
}

/** The latest done session on or before `today`: day 0 of the current aftercare run. */
export function currentSession(series, today) {
  const done = series.filter((s) => s.status === 'done' && s.day <= today);
  return done.length ? done[done.length - 1] : null;
}

/** The earliest and latest dates for the next session, and the one planned, if any. */
export function nextWindow(series, schedule, today) {
  const current = currentSession(series, today);
  if (!current) return null;
  const planned = series.filter((s) => s.status === 'planned' && s.day > current.day);
  return {
    after: current.session,
    earliest: addDays(current.day, schedule.series.interval_min_days),
    latest: addDays(current.day, schedule.series.interval_max_days),
    planned: planned[0] || null,
  };
}

/** The next planned session from `today` on, or null. */
export function upcoming(series, today) {
  return series.find((s) => s.status === 'planned' && s.day >= today) || null;
}

// Outranks every stored edit in the merge's order (lib/merge.js isLater): a preview of a change.
const PREVIEW = {id: 'preview', device: '\uffff', counter: Infinity, ts: Infinity};

/**
 * What saving `change` ({session, day, time, status}) would do that she should agree to
 * first: `close`, the other sessions it would stand nearer to than the protocol's
 * shortest interval, and `renumbered`, the other sessions whose number it changes
 * ({session, day, number, to}).
 */
export function changeConsequences(plan, events, change) {
  const before = buildSeries(plan, events);
  const after = buildSeries(plan, [...events, {...change, ...PREVIEW}]);
  const shortest = plan.schedule.series.interval_min_days;
  // Named by the numbers she knows now, as the renumbering is said apart.
  const close = change.status === 'cancelled'
    ? []
    : before.filter((s) => s.session !== change.session && Math.abs(daysBetween(s.day, change.day)) < shortest);
  const numberAfter = new Map(after.map((s) => [s.session, s.number]));
  const renumbered = before
    .filter((s) => s.session !== change.session && numberAfter.has(s.session) && numberAfter.get(s.session) !== s.number)
    .map((s) => ({...s, to: numberAfter.get(s.session)}));
  return {close, renumbered};
}

/** The first date a new session could sensibly go: the shortest interval after the last one. */
export function firstFreeDay(plan, series, today) {
  const last = series[series.length - 1];
  if (!last) return today;
  const after = addDays(last.day, plan.schedule.series.interval_min_days);
  return after > today ? after : today;
}
