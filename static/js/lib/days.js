/**
 * Which day it is for a plan, on the device: the phone's local calendar date
 * in the plan's IANA time zone, with a day-start hour (a tick at 1 a.m.
 * belongs to the evening before).  Mirrors pwa/care/days.py; both run the vectors
 * in tests/vectors/day_numbers.json.
 */

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
export const DEFAULT_DAY_START_HOUR = 3;

// One formatter per time zone: making one costs far more than using it.
const wallClocks = new Map();

/** The wall clock in `timeZone` at `instant`, as milliseconds of that reading taken as UTC. */
function wallClock(instant, timeZone) {
  if (!wallClocks.has(timeZone)) {
    wallClocks.set(
      timeZone,
      new Intl.DateTimeFormat('en-CA', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }),
    );
  }
  const part = Object.fromEntries(wallClocks.get(timeZone).formatToParts(instant).map((p) => [p.type, p.value]));
  return Date.UTC(+part.year, +part.month - 1, +part.day, +part.hour, +part.minute);
}

/** The IANA time zone the phone is set to, e.g. "Europe/London". */
export function deviceTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** "YYYY-MM-DD": the plan's local day at `instant` (a Date). */
export function localDay(instant, timeZone, dayStartHour = DEFAULT_DAY_START_HOUR) {
  // Work on the wall clock, not the instant, so a DST change cannot move the boundary.
  const wall = wallClock(instant, timeZone);
  return new Date(wall - dayStartHour * HOUR_MS).toISOString().slice(0, 10);
}

/**
 * The instant (ms) at which the clocks of `timeZone` read `hour`:00 on `day`
 * ("YYYY-MM-DD"; `hour` may be 24, midnight after it).  Today works out once when its
 * day starts and ends and when its evening comes, so the snapshot it keeps can be
 * checked against the clock without a time-zone lookup (today-first-paint.js).
 */
export function instantAt(day, hour, timeZone) {
  const wanted = Date.parse(day) + hour * HOUR_MS; // that reading, taken as UTC
  let instant = wanted;
  // The zone's offset at the guess, then at the corrected guess (a DST change between them).
  for (let step = 0; step < 2; step += 1) instant = wanted - (wallClock(instant, timeZone) - instant);
  return instant;
}

/** Whole days from `fromDay` to `toDay` (both "YYYY-MM-DD"). */
export function daysBetween(fromDay, toDay) {
  return Math.round((Date.parse(toDay) - Date.parse(fromDay)) / DAY_MS);
}

/** "YYYY-MM-DD" that many days after `day`. */
export function addDays(day, days) {
  return new Date(Date.parse(day) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days since the session (0 on the session day, negative before it). */
export function dayNumber(sessionDay, instant, timeZone, dayStartHour = DEFAULT_DAY_START_HOUR) {
  return daysBetween(sessionDay, localDay(instant, timeZone, dayStartHour));
}
