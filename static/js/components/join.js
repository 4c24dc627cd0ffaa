/**
 * The join and invitation pages.  A link from another device carries
 * "#<plan id>.<token>" in its fragment; a clinic's invitation carries
 * "#<code>".  Only the tap redeems either (so link scanners cannot use it
 * up); this device then gets its own credential, the plan and every tick.
 */
import {checkInvitation, getSchedule, joinPlan, redeemInvitation} from '../lib/api.js';
import {randomId} from '../lib/ids.js';
import {persistStorage} from '../lib/persist.js';
import {planState} from '../lib/plan-state.js';
import {planFromServer, syncOnce} from '../lib/sync.js';

export async function startJoin(root) {
  const box = root.querySelector('[data-join]');
  if (!box) return;
  const invitation = box.dataset.joinKind === 'invitation';
  const fragment = window.location.hash.slice(1);
  const [planId, token] = invitation ? [null, fragment] : fragment.split('.');
  // Keep the token out of the history and out of anything copied from the address bar.
  history.replaceState(null, '', window.location.pathname);
  const error = box.querySelector('[data-join-error]');
  const button = box.querySelector('[data-join-button]');
  // Back after Start, or the same link opened again: the plan is here already.
  const state = await planState();
  const here = await alreadyHere(state, invitation, planId, token);
  if (here) return showAlreadyHere(box, here);
  if ((!invitation && !planId) || !token) {
    button.hidden = true;
    const ask = invitation ? 'Ask your clinic for a new one.' : 'Make a new one on your other device.';
    return fail(error, `This link is incomplete. ${ask}`);
  }
  if (invitation) {
    try {
      await checkInvitation(token);
    } catch (problem) {
      // Offline: the tap will tell.  Gone: say so before anyone taps.
      if (!problem.offline) {
        button.hidden = true;
        return fail(error, problem.message);
      }
    }
  }
  const replacing = Boolean(state.plan);
  box.querySelector('[data-join-warning]').hidden = !replacing;
  if (replacing) button.textContent = 'Replace my plan and add this device';
  button.disabled = false; // the page's buttons wait for this script
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const device = {id: randomId(16), credential: randomId(24)};
      const ids = {device_id: device.id, credential: device.credential};
      const answer = invitation
        ? await redeemInvitation({code: token, ...ids})
        : await joinPlan({plan_id: planId, token, ...ids});
      const plan = planFromServer(answer.plan_id, answer.plan, await getSchedule(answer.plan.protocol.id));
      const shared = box.querySelector('[data-join-shared]')?.checked;
      if (shared) await state.useSharedDevice();
      // Kept (as a hash) so that opening the same invitation again is recognised.
      const seen = invitation ? {invitation: await hashOf(token)} : {};
      await state.startPlan(plan, device, {registered: true, cursor: 0, ...seen});
      await syncOnce(state);
      if (!shared) persistStorage();
      window.location.assign('/');
    } catch (problem) {
      button.disabled = false;
      fail(error, problem.offline ? 'You are offline. Connect and tap again.' : problem.message);
    }
  });
}

/**
 * Whether the plan this link would bring is on this phone already: a message to show,
 * or null.  With no link left in the address (back after Start) any plan here is hers.
 */
async function alreadyHere(state, invitation, planId, token) {
  const plan = state.plan;
  if (!plan) return null;
  if (!token) return 'Your aftercare plan is on this phone.';
  const same = invitation ? state.meta('invitation') === (await hashOf(token)) : plan.planId === planId;
  return same ? 'This plan is already on this phone.' : null;
}

function showAlreadyHere(box, message) {
  const parts = '[data-join-intro], [data-join-button], [data-join-shared], [data-join-warning]';
  for (const part of box.querySelectorAll(parts)) {
    (part.closest('label') || part).hidden = true;
  }
  box.querySelector('[data-join-already-text]').textContent = message;
  box.querySelector('[data-join-already]').hidden = false;
}

async function hashOf(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function fail(error, message) {
  error.textContent = message;
  error.hidden = false;
}
