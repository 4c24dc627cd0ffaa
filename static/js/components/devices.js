/**
 * Settings: "Your devices" (the list, with Remove: components/device-list.js) and
 * "Use on another device" (a single-use link and its QR code),
 * "Export my data" (a JSON file of everything on this phone), "Delete my
 * data" (this phone and the server) and "Forget this device" (unlink it and
 * clear everything the app keeps in this browser).
 */
import {createJoinLink, deletePlan, forgetDevice} from '../lib/api.js';
import {isSharedDevice} from '../lib/shared-device.js';
import {showDeviceList} from './device-list.js';
import {planState} from '../lib/plan-state.js';

export async function startDevices(root) {
  const box = root.querySelector('[data-devices]');
  if (!box) return;
  const state = await planState();
  const plan = state.plan;
  const auth = {device: state.meta('device'), credential: state.meta('credential')};
  const registered = plan && state.meta('registered');
  box.querySelector('[data-devices-none]').hidden = Boolean(plan);
  const note = root.querySelector('[data-shared-device-note]');
  if (note) note.hidden = !(plan && isSharedDevice());
  box.querySelector('[data-devices-offline]').hidden = !plan || registered;
  box.querySelector('[data-devices-ready]').hidden = !registered;
  if (registered) showDeviceList(box.querySelector('[data-device-list]'), plan.planId, auth);
  const error = box.querySelector('[data-devices-error]');
  const makeLink = box.querySelector('[data-make-link]');
  makeLink.disabled = false;
  makeLink.addEventListener('click', async () => {
    try {
      const {link, qr} = await createJoinLink(plan.planId, auth);
      const anchor = box.querySelector('[data-device-link]');
      anchor.href = link;
      anchor.textContent = link;
      const picture = Object.assign(document.createElement('img'), {
        className: 'device-link__qr',
        alt: 'QR code of the link below',
        width: 240,
        height: 240,
        src: qr,
      });
      box.querySelector('[data-link-qr]').replaceChildren(picture);
      box.querySelector('[data-link-box]').hidden = false;
      error.hidden = true;
    } catch (problem) {
      error.textContent = problem.offline ? 'You are offline. Connect to make a link.' : problem.message;
      error.hidden = false;
    }
  });
  startDataButtons(root, plan, auth, registered);
}

function startDataButtons(root, plan, auth, registered) {
  const status = root.querySelector('[data-data-status]');
  for (const button of root.querySelectorAll('[data-export], [data-delete], [data-forget]')) button.disabled = false;
  root.querySelector('[data-forget]').addEventListener('click', async () => {
    if (!window.confirm('Remove the app’s data from this device? Your plan stays on your other devices.')) return;
    try {
      if (plan && registered) await forgetDevice(plan.planId, auth);
    } catch (problem) {
      if (!problem.offline) return void (status.textContent = `Nothing was removed: ${problem.message}`);
      // Offline: the data still goes from here; the server keeps the link until it is removed elsewhere.
    }
    await forgetEverything();
    window.location.assign('/');
  });
  root.querySelector('[data-export]').addEventListener('click', async () => {
    if (!plan) return void (status.textContent = 'There is no data on this phone.');
    // Loaded on the tap: every page starts this component, few export.
    const {exportAll} = await import('../lib/backup.js');
    const blob = new Blob([JSON.stringify(await exportAll(), null, 2)], {type: 'application/json'});
    const link = Object.assign(document.createElement('a'), {
      href: URL.createObjectURL(blob),
      download: 'aftercare-data.json',
    });
    link.click();
    URL.revokeObjectURL(link.href);
    status.textContent = 'Your data was saved as aftercare-data.json.';
  });
  root.querySelector('[data-delete]').addEventListener('click', async () => {
    if (!plan) return void (status.textContent = 'There is no data on this phone.');
    if (!window.confirm('Delete your plan and ticks from this phone and from the server?')) return;
    try {
      if (registered) await deletePlan(plan.planId, auth);
      await (await planState()).erase();
      status.textContent = 'Deleted from this phone and from the server.';
    } catch (problem) {
      status.textContent = problem.offline
        ? 'You are offline: connect to the internet to delete the copy on the server too. Nothing was deleted.'
        : `Nothing was deleted: ${problem.message}`;
    }
  });
}

/**
 * Everything the app keeps in this browser, gone: IndexedDB, caches, local
 * storage and the service worker.  The server's Clear-Site-Data header does
 * the same where the browser supports it; this covers the rest.
 */
async function forgetEverything() {
  const steps = [
    async () => (await planState()).erase(),
    () => localStorage.clear(),
    async () => Promise.all((await caches.keys()).map((name) => caches.delete(name))),
    async () => {
      const registrations = (await navigator.serviceWorker?.getRegistrations()) ?? [];
      await Promise.all(registrations.map((registration) => registration.unregister()));
    },
  ];
  for (const step of steps) {
    try {
      await step();
    } catch {
      // Already cleared by the header (which also closes IndexedDB), or not available.
    }
  }
}
