/**
 * Registers the service worker with workbox-window and runs the update flow:
 * "Ready to work offline" once after the first install, and a calm "Update
 * available" toast when a new version waits.  The page reloads only when the
 * user taps Reload, never on its own, so nothing is lost mid-tick.
 */
import {showToast} from './components/toasts.js';

const OFFLINE_READY_KEY = 'aftercare:offline-ready-shown';
// Installed apps can stay open for days: look for a new version now and then.
const UPDATE_EVERY_MS = 60 * 60 * 1000;
const MIN_CHECK_GAP_MS = 5 * 60 * 1000;

export async function startServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  const {Workbox} = await import(document.documentElement.dataset.workboxWindow);
  const wb = new Workbox('/sw.js');
  wb.addEventListener('installed', (event) => {
    if (!event.isUpdate) announceOfflineReady();
  });
  wb.addEventListener('waiting', () => offerUpdate(wb));
  await wb.register();
  keepCheckingForUpdates(wb);
}

/** Once per browser: a worker installed again (after the site's data was cleared but not its
 * local storage, say) is not news.  <html data-offline-ready> says which it was. */
function announceOfflineReady() {
  const said = Boolean(localStorage.getItem(OFFLINE_READY_KEY));
  document.documentElement.dataset.offlineReady = said ? 'remembered' : 'shown';
  if (said) return;
  localStorage.setItem(OFFLINE_READY_KEY, new Date().toISOString());
  showToast('Ready to work offline', {buttons: ['OK'], duration: 8000});
}

let updateOffered = false;

async function offerUpdate(wb) {
  if (updateOffered) return;
  updateOffered = true;
  const answer = await showToast('Update available', {buttons: ['Reload', 'Not now']});
  if (answer !== 'Reload') return;
  wb.addEventListener('controlling', () => window.location.reload());
  wb.messageSkipWaiting();
}

function keepCheckingForUpdates(wb) {
  let lastCheck = Date.now();
  const check = () => {
    lastCheck = Date.now();
    wb.update();
  };
  setInterval(check, UPDATE_EVERY_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && Date.now() - lastCheck > MIN_CHECK_GAP_MS) check();
  });
}
