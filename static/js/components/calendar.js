/**
 * Settings, "Add your sessions to your calendar": the plan's private feed as a
 * webcal:// subscribe link and as its https address, the neutral/explicit
 * title choice, and "Reset calendar link".  The link is kept on this phone
 * (the server stores only a hash of its key).
 */
import {calendarLinkState, makeCalendarLink, setCalendarTitles} from '../lib/api.js';
import {planState} from '../lib/plan-state.js';

export async function startCalendar(root) {
  const box = root.querySelector('[data-calendar]');
  if (!box) return;
  const state = await planState();
  const plan = state.plan;
  const registered = plan && state.meta('registered');
  box.querySelector('[data-calendar-none]').hidden = Boolean(plan);
  box.querySelector('[data-calendar-offline]').hidden = !plan || registered;
  if (!registered) return;
  const auth = {device: state.meta('device'), credential: state.meta('credential')};
  const status = box.querySelector('[data-calendar-status]');
  const make = box.querySelector('[data-calendar-make]');
  const explicit = box.querySelector('[data-explicit-titles]');
  box.querySelector('[data-calendar-ready]').hidden = false;

  const show = (link) => {
    box.querySelector('[data-calendar-links]').hidden = !link;
    make.hidden = Boolean(link);
    if (!link) return;
    box.querySelector('[data-calendar-subscribe]').href = link.webcal_url;
    // Google Calendar subscribes to a feed from its address (Android has no webcal:// handler).
    box.querySelector('[data-calendar-google]').href =
      `https://calendar.google.com/calendar/r?cid=${encodeURIComponent(link.webcal_url)}`;
    const feed = box.querySelector('[data-calendar-feed]');
    feed.href = link.feed_url;
    feed.textContent = link.feed_url;
  };
  const fail = (problem) => {
    status.textContent = problem.offline ? 'You are offline. Connect to the internet and try again.' : problem.message;
  };
  const mint = async () => {
    try {
      const link = await makeCalendarLink(plan.planId, auth, explicit.checked);
      await state.setMeta('calendarLink', link);
      box.querySelector('[data-calendar-elsewhere]').hidden = true;
      show(link);
      return link;
    } catch (problem) {
      fail(problem);
      return null;
    }
  };

  const kept = state.meta('calendarLink');
  explicit.checked = Boolean(kept?.explicit_titles);
  show(kept);
  make.disabled = false;
  make.addEventListener('click', async () => {
    if (await mint()) status.textContent = 'Your calendar link is ready.';
  });
  box.querySelector('[data-calendar-reset]').addEventListener('click', async () => {
    if (!window.confirm('Make a new calendar link? Calendars subscribed to the old one stop getting updates.')) return;
    if (await mint()) status.textContent = 'New link made. The old one no longer works: subscribe again with this one.';
  });
  explicit.addEventListener('change', async () => {
    const link = state.meta('calendarLink');
    if (!link) return;
    try {
      await setCalendarTitles(plan.planId, auth, explicit.checked);
      await state.setMeta('calendarLink', {...link, explicit_titles: explicit.checked});
      status.textContent = explicit.checked ? 'Event titles now show treatment details.' : 'Event titles are neutral again.';
    } catch (problem) {
      explicit.checked = !explicit.checked;
      fail(problem);
    }
  });
  // Another device may have made (or reset) the link: say so rather than show a dead one.
  try {
    const state = await calendarLinkState(plan.planId, auth);
    if (!state.exists && kept) {
      await state.setMeta('calendarLink', null);
      show(null);
    }
    box.querySelector('[data-calendar-elsewhere]').hidden = !(state.exists && !kept);
  } catch {
    // Offline: show what this phone knows.
  }
}
