/**
 * The Aftercare service worker: a short composition of Workbox modules.
 *
 * pwa/shell/app_shell.py serves this file at /sw.js and fills in its two placeholders:
 * the path of the self-hosted, versioned Workbox runtime, and the precache
 * list with content revisions (Workbox's injectManifest placeholder).
 *
 * - Every app page, the CSS, JS and icons are precached at install, so every
 *   page opens offline after the first visit, even pages never opened.
 * - Anything else goes to the network; when that fails, a document gets the
 *   precached offline page.  /api answers are never cached: private plan
 *   data lives in IndexedDB, not in Cache Storage.
 * - A sync that fails for want of a network is also queued for Background
 *   Sync where the browser has it, so ticks can reach the server after the
 *   app is closed.  The page's own outbox stays the main path (iOS has no
 *   Background Sync); the server ignores events it already has.
 * - A new version waits until the page asks it to take over (the user taps
 *   "Reload"), so nobody is reloaded mid-tick.
 * - Push notifications are handled in notifications.js (/sw-notifications.js).
 */
/* global workbox */

importScripts('__WORKBOX_PATH__/workbox-sw.js');
importScripts('/sw-notifications.js');
workbox.setConfig({modulePathPrefix: '__WORKBOX_PATH__', debug: false});

// workbox-sw loads modules on first use, which is only allowed while this
// script first runs: touch each one here, never first inside a handler.
const {backgroundSync, core, precaching, routing, strategies} = workbox;

core.setCacheNameDetails({prefix: 'aftercare'});
core.clientsClaim();

precaching.cleanupOutdatedCaches();
precaching.precacheAndRoute(self.__WB_MANIFEST, {
  // The manifest's start_url is /?source=pwa: serve it from the precached /.
  ignoreURLParametersMatching: [/^source$/, /^utm_/],
});

// Every queued sync carries the whole outbox as it stood, and the page
// retries while it is open, so only the newest queued request is worth
// sending: the older ones hold nothing it lacks.
async function replayNewest({queue}) {
  let entry;
  let newest = null;
  while ((entry = await queue.shiftRequest())) newest = entry;
  if (!newest) return;
  try {
    await fetch(newest.request.clone());
  } catch (error) {
    await queue.unshiftRequest(newest);
    throw error;
  }
}

routing.registerRoute(
  // Not for a shared device's syncs (?ephemeral=1): the queue would outlive its tab.
  ({url}) => /^\/api\/plans\/[^/]+\/sync$/.test(url.pathname) && !url.searchParams.has('ephemeral'),
  new strategies.NetworkOnly({
    plugins: [
      new backgroundSync.BackgroundSyncPlugin('aftercare-sync', {
        maxRetentionTime: 7 * 24 * 60, // minutes: a week offline
        onSync: replayNewest,
      }),
    ],
  }),
  'POST',
);

routing.setDefaultHandler(new strategies.NetworkOnly());
routing.setCatchHandler(async ({request}) =>
  request.destination === 'document'
    ? (await precaching.matchPrecache('/offline')) || Response.error()
    : Response.error(),
);

// The bundled page scripts are named by their content and precached under those names:
// where the browser has static routing (Chromium), it takes them straight from the cache,
// without waking this worker's fetch handler for each (about 5 ms a file when opening
// offline: README, "Offline open").  Elsewhere the precache route above serves them.
self.addEventListener('install', (event) => {
  if (!event.addRoutes) return;
  event.waitUntil(
    event.addRoutes({condition: {urlPattern: new URLPattern({pathname: '/static/build/*'})}, source: 'cache'}),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') {
    self.skipWaiting();
  }
});
