/**
 * What every page starts once its own content is on screen: install help,
 * linked devices, joining, sessions, calendar, notifications, sync status and
 * the service worker.  Each component does nothing on a page without its
 * elements.  Loaded by both entries: app.js (every page but Today) and
 * today-app.js (Today, once Today is on screen).
 */

// The browser offers installation once per page load, possibly before the
// install component has loaded: keep the offer for it.
let installOffer = null;
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installOffer = event;
});

/** Start them all; `earlyOffer`: an install offer the page's entry kept before this loaded. */
export async function startComponents(earlyOffer = null) {
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
  install.startInstallHelp(document, earlyOffer ?? installOffer);
  devices.startDevices(document);
  join.startJoin(document);
  sessions.startSessions(document);
  calendar.startCalendar(document);
  notifications.startNotifications(document);
  syncStatus.startSyncStatus(document);
  serviceWorker.startServiceWorker();
}

/** Resolves once the page's first content is on screen (its paint timing entry). */
export function afterFirstPaint() {
  return new Promise((resolve) => {
    // A hidden tab paints nothing, and not every browser reports paints: start anyway.
    setTimeout(resolve, 500);
    try {
      new PerformanceObserver((entries, observer) => {
        if (!entries.getEntriesByName('first-contentful-paint').length) return;
        observer.disconnect();
        resolve();
      }).observe({type: 'paint', buffered: true});
    } catch {
      resolve();
    }
  });
}
