/**
 * Cards on Today about the series, as plain data (the snapshot keeps them): "Next
 * session in 12 days", and due cards when a planned session is today or tomorrow or a
 * planned session's day passed without it being logged.  Logging a session from one
 * starts a new Day 0.  Drawn, with the evening reminder, by cards.js.  Also the dates
 * in words that Today uses.
 */
import {addDays, daysBetween} from '../lib/days.js';
import {nextWindow, upcoming} from '../lib/series.js';
import {settingOf} from '../lib/plan.js';

const DATE = new Intl.DateTimeFormat('en-GB', {weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC'});
// Today's items still open from this hour of the day count as an evening reminder (cards.js).
export const EVENING_HOUR = 17;

const WITH_YEAR = new Intl.DateTimeFormat('en-GB', {weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC'});
/** "Monday, 1 December 2031". */
export const formatDayWithYear = (day) => WITH_YEAR.format(new Date(day));
/** "Sunday 6 December"; with the year when it is not this year ("Monday, 1 December 2031"). */
export const formatDay = (day, now = new Date()) =>
  day.slice(0, 4) === String(now.getFullYear()) ? DATE.format(new Date(day)) : formatDayWithYear(day);

/** The series part of the cards: plain data, so Today's snapshot can keep it. */
export function seriesCards(plan, series, today) {
  const cards = [];
  const missed = series.filter((s) => s.status === 'planned' && s.day < today).pop();
  if (missed) {
    cards.push({
      kind: 'due',
      title: `Did session ${missed.number} happen on ${formatDay(missed.day)}?`,
      text: 'If it did, log it so your aftercare starts from that day. If it moved, change the date on Sessions.',
      log: {...missed, status: 'done'},
      logLabel: 'Yes, log it',
    });
  }
  const next = upcoming(series, today);
  if (next && next.day === today) {
    cards.push({
      kind: 'due',
      title: `Session ${next.number} is today${next.time ? ` at ${next.time}` : ''}`,
      text: 'After your session, log it here: your aftercare starts again from day 0.',
      log: {...next, status: 'done'},
      logLabel: 'I have had my session',
    });
  } else if (next && next.day === addDays(today, 1)) {
    cards.push({
      kind: 'due',
      title: `Session ${next.number} is tomorrow${next.time ? ` at ${next.time}` : ''}`,
      text: `${plan.schedule.readiness?.length ? `Answer “Ready for session ${next.number}?” above. ` : ''}${
        atHome(plan)
          ? 'Have a new sterile cartridge ready, and needle only calm, unbroken skin.'
          : 'Follow your practitioner’s instructions for the day before, and arrive with clean skin.'
      }`,
    });
  } else if (next) {
    const days = daysBetween(today, next.day);
    cards.push({kind: 'next', title: `Next session in ${days} days`, text: `Session ${next.number}: ${formatDay(next.day)}.`});
  } else {
    const window = nextWindow(series, plan.schedule, today);
    if (window && window.latest >= today) {
      cards.push({
        kind: 'next',
        title: 'No next session planned',
        text: `Your next session could be between ${formatDay(window.earliest)} and ${formatDay(window.latest)}. ${
          atHome(plan) ? 'Add it on Sessions once you have picked a day.' : 'Your practitioner decides; add it on Sessions once it is booked.'
        }`,
      });
    }
  }
  return cards;
}

const atHome = (plan) => settingOf(plan) === 'home';
