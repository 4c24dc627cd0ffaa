/**
 * The join page: a link from another device carries "#<plan id>.<token>" in
 * its fragment.  Only the tap redeems it (so link scanners cannot use it up);
 * this device then gets its own credential, the plan and every tick.
 */
import {getSchedule, joinPlan} from '../lib/api.js';
import {randomId} from '../lib/ids.js';
import {persistStorage} from '../lib/persist.js';
import {modeFor} from '../lib/plan.js';
import {loadPlan, startPlan} from '../lib/store.js';
import {syncOnce} from '../lib/sync.js';

export async function startJoin(root) {
  const box = root.querySelector('[data-join]');
  if (!box) return;
  const [planId, token] = window.location.hash.slice(1).split('.');
  // Keep the token out of the history and out of anything copied from the address bar.
  history.replaceState(null, '', window.location.pathname);
  const error = box.querySelector('[data-join-error]');
  const button = box.querySelector('[data-join-button]');
  if (!planId || !token) {
    button.hidden = true;
    return fail(error, 'This link is incomplete. Make a new one on your other device.');
  }
  const replacing = Boolean(await loadPlan());
  box.querySelector('[data-join-warning]').hidden = !replacing;
  if (replacing) button.textContent = 'Replace my plan and add this device';
  button.disabled = false; // the page's buttons wait for this script
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const device = {id: randomId(16), credential: randomId(24)};
      const answer = await joinPlan({plan_id: planId, token, device_id: device.id, credential: device.credential});
      const plan = planFromServer(planId, answer.plan, await getSchedule());
      await startPlan(plan, device, {registered: true, cursor: 0});
      await syncOnce();
      persistStorage();
      window.location.assign('/');
    } catch (problem) {
      button.disabled = false;
      fail(error, problem.offline ? 'You are offline. Connect and tap again.' : problem.message);
    }
  });
}

function planFromServer(planId, wire, schedule) {
  return {
    planId,
    createdAt: new Date().toISOString(),
    timeZone: wire.time_zone,
    dayStartHour: wire.day_start_hour,
    sessions: wire.sessions,
    nextSession: wire.next_session,
    plannedSessions: wire.planned_sessions,
    skinType: wire.skin_type,
    pihHistory: wire.pih_history,
    mode: modeFor(schedule, wire.skin_type, wire.pih_history),
    protocol: wire.protocol,
    schedule,
  };
}

function fail(error, message) {
  error.textContent = message;
  error.hidden = false;
}
