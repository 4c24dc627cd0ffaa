/**
 * Cards on Today about the series: "Next session in 12 days", and due cards
 * when a planned session is today or tomorrow, when a planned session's day
 * passed without it being logged, and when today's items are still open in
 * the evening.  Logging a session from here starts a new Day 0.
 */
import {addDays, daysBetween} from '../lib/days.js';
import {nextWindow, upcoming} from '../lib/series.js';
import {settingOf} from '../lib/plan.js';

const DATE = new Intl.DateTimeFormat('en-GB', {weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC'});
const EVENING_HOUR = 17;
// Just after a session is logged, the day starts again: no "not ticked yet" for a while.
const QUIET_AFTER_SESSION_MS = 60 * 60 * 1000;

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

/**
 * Draw `cards` plus, in the evening, a reminder of today's open items (not in the hour
 * after a session was logged: `sessionLoggedMs`).  `logSession(change)` keeps a session
 * logged from a card (the state owner's recordSession); without it the buttons wait, disabled.
 */
export function renderCards(container, cards, {itemsLeft, timeZone, sessionLoggedMs = 0, now = new Date(), logSession = null}) {
  const hour = Number(new Intl.DateTimeFormat('en-GB', {hour: 'numeric', hourCycle: 'h23', timeZone}).format(now));
  const all = [...cards];
  const justLogged = now.getTime() - sessionLoggedMs < QUIET_AFTER_SESSION_MS;
  if (itemsLeft > 0 && hour >= EVENING_HOUR && !justLogged) {
    const items = itemsLeft === 1 ? '1 item is' : `${itemsLeft} items are`;
    all.push({
      kind: 'due',
      title: 'Evening check',
      text: `${items} not ticked yet today.`,
      link: {href: '#today-list', label: 'Go to today’s list'},
    });
  }
  container.replaceChildren(...all.map((each) => card(each, logSession)));
  container.hidden = !all.length;
}

function card({kind, title, text, log, logLabel, link: own}, logSession) {
  const section = document.createElement('section');
  section.className = kind === 'due' ? 'card card--due' : 'card';
  section.dataset.card = kind;
  const heading = document.createElement('h2');
  heading.textContent = title;
  const body = document.createElement('p');
  body.textContent = text;
  section.append(heading, body);
  const actions = document.createElement('p');
  actions.className = 'actions';
  if (log) {
    const button = document.createElement('button');
    Object.assign(button, {type: 'button', className: 'button', textContent: logLabel, disabled: !logSession});
    button.addEventListener('click', async () => {
      button.disabled = true;
      const {session, day, time, status} = log;
      // Today draws again when the state owner says the sessions changed.
      await logSession({session, day, time, status});
    });
    actions.append(button);
  }
  const link = document.createElement('a');
  if (own) Object.assign(link, {href: own.href, textContent: own.label});
  else Object.assign(link, {href: '/sessions/', className: log ? 'button button--quiet' : '', textContent: log ? 'Sessions' : 'See all sessions'});
  actions.append(link);
  section.append(actions);
  return section;
}
