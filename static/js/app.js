// Entry point for every page.  Today comes first, since it is what the app
// is opened for; every other component loads after the page's first paint,
// so none of them stands between a page and its content.  Each one does
// nothing on pages without its elements.

// The browser offers installation once per page load, possibly before the
// install component has loaded: keep the offer for it.
let installOffer = null;
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installOffer = event;
});

async function startTodayHere() {
  // Only Today draws its content with script.  A phone with a plan has its
  // modules preloaded (boot.js); on a first visit the form is in the HTML, so
  // Today's script can wait until that is painted.
  if (!document.querySelector('[data-today]')) return;
  if (document.documentElement.hasAttribute('data-first-visit')) await afterFirstPaint();
  const {startToday} = await import('./components/today.js');
  await startToday(document);
}

async function startTheRest() {
  await afterFirstPaint();
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
}

/** Resolves once the page's first content is on screen (its paint timing entry). */
function afterFirstPaint() {
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

startTodayHere().finally(startTheRest);
