/**
 * What every page starts once its own content is on screen: the sync engine, then install
 * help, linked devices, restoring from a file, joining, sessions, calendar, notifications,
 * the sync status line, the clinic's changes and the service worker.  Each component does
 * nothing on a page without its elements.  Loaded by both entries once their page is on
 * screen: app.js (every page but Today) and today-app.js (Today).
 */
import {planState} from './lib/plan-state.js';
import {startSync} from './lib/sync.js';

/**
 * Start them all.  `keptInstallOffer()`: the browser's install offer if the page's
 * entry kept one; asked only once the install component has loaded, since the
 * offer may come while the components load.
 */
export async function startComponents(keptInstallOffer = () => null) {
  const sync = startSync(await planState());
  const [install, devices, restore, join, sessions, calendar, notifications, syncStatus, clinicNotices, serviceWorker] = await Promise.all([
    import('./components/install.js'),
    import('./components/devices.js'),
    import('./components/restore.js'),
    import('./components/join.js'),
    import('./components/sessions.js'),
    import('./components/calendar.js'),
    import('./components/notifications.js'),
    import('./components/sync-status.js'),
    import('./components/clinic-notices.js'),
    import('./sw-client.js'),
  ]);
  install.startInstallHelp(document, keptInstallOffer());
  devices.startDevices(document);
  restore.startRestore(document);
  join.startJoin(document);
  sessions.startSessions(document);
  calendar.startCalendar(document);
  notifications.startNotifications(document);
  syncStatus.startSyncStatus(document, sync);
  clinicNotices.startClinicNotices(document);
  serviceWorker.startServiceWorker();
}
