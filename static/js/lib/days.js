/**
 * Which day it is for a plan, on the device: the phone's local calendar date
 * in the plan's IANA time zone, with a day-start hour (a tick at 1 a.m.
 * belongs to the evening before).  Mirrors pwa/care/days.py; both run the vectors
 * in tests/vectors/day_numbers.json.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_DAY_START_HOUR = 3;

/** The IANA time zone the phone is set to, e.g. "Europe/London". */
export function deviceTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** "YYYY-MM-DD": the plan's local day at `instant` (a Date). */
export function localDay(instant, timeZone, dayStartHour = DEFAULT_DAY_START_HOUR) {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  // Work on the wall clock, not the instant, so a DST change cannot move the boundary.
  const wall = Date.UTC(+part.year, +part.month - 1, +part.day, +part.hour, +part.minute);
  return new Date(wall - dayStartHour * 60 * 60 * 1000).toISOString().slice(0, 10);
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
