// Entry point for every page.  Today comes first, since it is what the app
// is opened for; the other components load once it is on screen.  Each one
// does nothing on pages without its elements.
import {startToday} from './components/today.js';

// The browser offers installation once per page load, possibly before the
// install component has loaded: keep the offer for it.
let installOffer = null;
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installOffer = event;
});

startToday(document).finally(async () => {
  const [install, devices, join, sessions, calendar, notifications, syncStatus, serviceWorker] = await Promise.all([
    import('./components/install.js'),
    import('./components/devices.js'),
    import('./components/join.js'),
    import('./components/sessions.js'),
    import('./components/calendar.js'),
    import('./components/notifications.js'),
    import('./components/sync-status.js'),
    import('./sw-client.js'),
  ]);
  install.startInstallHelp(document, installOffer);
  devices.startDevices(document);
  join.startJoin(document);
  sessions.startSessions(document);
  calendar.startCalendar(document);
  notifications.startNotifications(document);
  syncStatus.startSyncStatus(document);
  serviceWorker.startServiceWorker();
});
