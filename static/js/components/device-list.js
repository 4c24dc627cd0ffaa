/**
 * Settings: the devices that have this plan (a readable name, when each was linked and
 * last synced), with Remove for the others: a lost phone stops syncing at once.
 */
import {listDevices, removeDevice} from '../lib/api.js';

const DATE = {day: 'numeric', month: 'long', year: 'numeric'};

/** Show the list in `box` ([data-device-list]) for the plan, as the device `auth`. */
export async function showDeviceList(box, planId, auth) {
  const list = box.querySelector('ul');
  const status = box.querySelector('[role=status]');
  let devices;
  try {
    devices = await listDevices(planId, auth);
  } catch (problem) {
    status.textContent = problem.offline ? 'Connect to the internet to see your devices.' : problem.message;
    return;
  }
  list.replaceChildren(...devices.map((device) => row(device, planId, auth, box)));
  box.hidden = false;
}

function row(device, planId, auth, box) {
  const item = document.createElement('li');
  const name = device.name || 'A browser that did not say its name';
  const title = Object.assign(document.createElement('strong'), {textContent: name});
  const when = document.createElement('span');
  when.className = 'muted';
  when.textContent = `Linked ${formatDate(device.added_ms)} · last synced ${lastSeen(device.last_seen_ms)}`;
  item.append(title, device.this_device ? ' (this device)' : '', document.createElement('br'), when);
  if (!device.this_device) {
    const remove = Object.assign(document.createElement('button'), {type: 'button', className: 'button button--quiet', textContent: 'Remove'});
    remove.setAttribute('aria-label', `Remove ${name}, linked ${formatDate(device.added_ms)}`);
    remove.addEventListener('click', () => removeOne(device, name, planId, auth, box));
    item.append(' ', remove);
  }
  return item;
}

async function removeOne(device, name, planId, auth, box) {
  const ask = `Remove “${name}” from your plan? It stops syncing at once. Do this for a phone you lost or no longer use.`;
  if (!window.confirm(ask)) return;
  const status = box.querySelector('[role=status]');
  try {
    await removeDevice(planId, auth, device.device_id);
    await showDeviceList(box, planId, auth);
    status.textContent = `Removed “${name}”.`;
  } catch (problem) {
    status.textContent = problem.offline ? 'You are offline. Connect and try again. Nothing was removed.' : `Nothing was removed: ${problem.message}`;
  }
}

const formatDate = (ms) => new Date(ms).toLocaleDateString('en-GB', DATE);

function lastSeen(ms) {
  const minutes = Math.floor((Date.now() - ms) / 60000);
  if (minutes < 2) return 'just now';
  if (minutes < 60) return `${minutes} minutes ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 24 ? `${hours} hour${hours === 1 ? '' : 's'} ago` : `on ${formatDate(ms)}`;
}
