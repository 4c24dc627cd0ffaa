/**
 * One planned session as a calendar entry, made on the phone (so it works
 * offline): a one-event iCalendar file (RFC 5545) for Calendar on iPhone and
 * any app that opens .ics, and a Google Calendar "add event" address for
 * Android, whose calendar has no handler for files or webcal:// links.  The
 * same neutral title, length and alerts as the server's feed
 * (pwa/reminders/calendar_feed.py).  No DOM here.
 */
import {addDays} from './days.js';

export const NEUTRAL_TITLE = 'Skin appointment';
const DESCRIPTION = 'Open the Aftercare app for details.';
const SESSION_MINUTES = 60;
// Alerts a day and two hours before a timed session; for one with no time, 09:00 the day before.
const ALERTS = ['-P1D', '-PT2H'];
const ALL_DAY_ALERT = '-PT15H';

/** The session's start as a UTC instant (ms), from its wall-clock time in `timeZone`. */
export function startInstant(day, time, timeZone) {
  const [year, month, date] = day.split('-').map(Number);
  const [hour, minute] = time.split(':').map(Number);
  const wall = Date.UTC(year, month - 1, date, hour, minute);
  // The zone's offset at that wall time, found from the instant it names; twice, so a
  // guess on the wrong side of a clock change settles.
  let instant = wall - offsetAt(wall, timeZone);
  instant = wall - offsetAt(instant, timeZone);
  return instant;
}

function offsetAt(instant, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const part = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
  const asUtc = Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute, part.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

const utcStamp = (instant) => new Date(instant).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const dateStamp = (day) => day.replace(/-/g, '');

/** The session's times: {allDay, start, end} as iCalendar/Google values. */
function when({day, time}, timeZone) {
  if (!time) return {allDay: true, start: dateStamp(day), end: dateStamp(addDays(day, 1))};
  const start = startInstant(day, time, timeZone);
  return {allDay: false, start: utcStamp(start), end: utcStamp(start + SESSION_MINUTES * 60 * 1000)};
}

/** A one-event iCalendar file for `session` ({session, day, time}). */
export function sessionCalendarFile(session, timeZone, host, now = Date.now()) {
  const {allDay, start, end} = when(session, timeZone);
  const alerts = allDay ? [ALL_DAY_ALERT] : ALERTS;
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Aftercare//One session//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    // The same session keeps its UID: adding it again updates the entry instead of doubling it.
    `UID:session-${session.session}@${host}`,
    `DTSTAMP:${utcStamp(now)}`,
    allDay ? `DTSTART;VALUE=DATE:${start}` : `DTSTART:${start}`,
    allDay ? `DTEND;VALUE=DATE:${end}` : `DTEND:${end}`,
    `SUMMARY:${escapeText(NEUTRAL_TITLE)}`,
    `DESCRIPTION:${escapeText(DESCRIPTION)}`,
    `TRANSP:${allDay ? 'TRANSPARENT' : 'OPAQUE'}`,
    ...alerts.flatMap((trigger) => [
      'BEGIN:VALARM',
      'ACTION:DISPLAY',
      `DESCRIPTION:${escapeText(NEUTRAL_TITLE)}`,
      `TRIGGER:${trigger}`,
      'END:VALARM',
    ]),
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return lines.map(fold).join('\r\n') + '\r\n';
}

/** Google Calendar's "add event" address for `session`, filled in and waiting for Save. */
export function googleCalendarUrl(session, timeZone) {
  const {start, end} = when(session, timeZone);
  const query = new URLSearchParams({action: 'TEMPLATE', text: NEUTRAL_TITLE, dates: `${start}/${end}`, details: DESCRIPTION});
  return `https://calendar.google.com/calendar/render?${query}`;
}

function escapeText(text) {
  return text.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\n/g, '\\n');
}

/** Lines longer than 75 octets are folded (RFC 5545 §3.1): a break, then a space; ours are ASCII. */
function fold(line) {
  const parts = [line.slice(0, 75)];
  for (let at = 75; at < line.length; at += 74) parts.push(line.slice(at, at + 74));
  return parts.join('\r\n ');
}
