/**
 * Settings, "Notifications": Web Push reminders, asked for only from a tap.
 * On iPhone and iPad the browser allows push only to an app opened from the
 * Home Screen, so there it is offered only in that mode.  The server sends
 * the reminders (the phone cannot schedule them offline); this component
 * subscribes, sends the preferences, and unsubscribes.
 */
import {pushKey, removePushSubscription, savePushSubscription} from '../lib/api.js';
import {isSharedDevice} from '../lib/shared-device.js';
import {planState} from '../lib/plan-state.js';
import {clearFormError, clearWhenChanged, showFormError} from './form-errors.js';

const isIos = () => /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
const standalone = () => matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;

export async function startNotifications(root) {
  const box = root.querySelector('[data-notifications]');
  if (!box) return;
  const part = (name) => box.querySelector(`[data-notify-${name}]`);
  const state = await planState();
  const plan = state.plan;
  part('none').hidden = Boolean(plan);
  if (!plan) return;
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  // A push subscription would outlive a shared device's tab.
  if (isSharedDevice()) return void (part('shared').hidden = false);
  if (isIos() && !standalone()) return void (part('ios').hidden = false);
  if (!supported) return void (part('unsupported').hidden = false);
  if (!(state.meta('registered'))) return void (part('offline').hidden = false);
  const auth = {device: state.meta('device'), credential: state.meta('credential')};
  const form = part('form');
  const status = part('status');
  const saved = state.meta('pushPrefs');
  if (saved) fill(form, saved);
  const showState = (on) => {
    part('save').textContent = on ? 'Save reminder times' : 'Turn on reminders';
    part('stop').hidden = !on;
  };
  showState(Boolean(saved) && Notification.permission === 'granted');
  form.hidden = false;

  clearWhenChanged(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormError(form);
    if (form.elements.daily_on.checked && !form.elements.daily_time.value) {
      showFormError(form, 'Enter the time for the daily reminder, or turn it off.', 'daily_time');
      return;
    }
    const {daily_time: daily, quiet_start: from, quiet_end: until} = read(form);
    if (daily && inQuietHours(daily, from, until)) {
      // The server holds back what falls in quiet hours, and by their end the day's reminder
      // is out of date: it would never come.
      showFormError(form, `${daily} is inside your quiet hours (${from} to ${until}), when nothing is sent. Pick a time outside them.`, 'daily_time');
      return;
    }
    try {
      const {public_key: key} = await pushKey();
      // Asked only here, from the user's tap: never on load.
      if ((await Notification.requestPermission()) !== 'granted') {
        status.textContent = 'Notifications are blocked for this app. You can allow them in your browser’s site settings.';
        return;
      }
      const registration = await navigator.serviceWorker.ready;
      const subscription =
        (await registration.pushManager.getSubscription()) ||
        (await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key}));
      const {prefs} = await savePushSubscription(plan.planId, auth, subscriptionJson(subscription), read(form));
      await state.setMeta('pushPrefs', prefs);
      showState(true);
      status.textContent = 'Reminders are on.';
    } catch (problem) {
      // A time the server refused ("prefs.quiet_end: …") is shown beside its field.
      const refused = problem.status === 400 && /^prefs\.(\w+): (.*)$/.exec(problem.message);
      if (refused && form.elements[refused[1]]) return void showFormError(form, refused[2], refused[1]);
      status.textContent = problem.status === 404 && problem.message.includes('not set up')
        ? 'Notifications are not set up on this clinic’s server. The calendar link above still reminds you.'
        : problem.offline ? 'You are offline. Connect to the internet and try again.' : problem.message;
    }
  });
  part('stop').addEventListener('click', async () => {
    try {
      await removePushSubscription(plan.planId, auth);
      const registration = await navigator.serviceWorker.ready;
      await (await registration.pushManager.getSubscription())?.unsubscribe();
      await state.setMeta('pushPrefs', null);
      showState(false);
      status.textContent = 'Reminders are off.';
    } catch (problem) {
      status.textContent = problem.offline ? 'You are offline. Connect to the internet and try again.' : problem.message;
    }
  });
}

/** Only the fields the server takes: the browser's JSON adds expirationTime. */
function subscriptionJson(subscription) {
  const {endpoint, keys} = subscription.toJSON();
  return {endpoint, keys: {p256dh: keys.p256dh, auth: keys.auth}};
}

/** Whether the time "HH:MM" falls in quiet hours from `from` until `until` (past midnight too). */
function inQuietHours(time, from, until) {
  if (from === until) return false;
  return from < until ? time >= from && time < until : time >= from || time < until;
}

function read(form) {
  const value = (name) => form.elements[name].value;
  return {
    daily_time: form.elements.daily_on.checked && value('daily_time') ? value('daily_time') : null,
    // An emptied field means the clinic's default (the value the page came with).
    quiet_start: value('quiet_start') || form.elements.quiet_start.defaultValue,
    quiet_end: value('quiet_end') || form.elements.quiet_end.defaultValue,
  };
}

function fill(form, prefs) {
  form.elements.daily_on.checked = Boolean(prefs.daily_time);
  if (prefs.daily_time) form.elements.daily_time.value = prefs.daily_time;
  form.elements.quiet_start.value = prefs.quiet_start;
  form.elements.quiet_end.value = prefs.quiet_end;
}
