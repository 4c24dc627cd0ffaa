/**
 * The service worker's push and notification-click handlers, imported by
 * sw.js.  Every push shows a notification, even one whose payload cannot be
 * read: Safari revokes subscriptions that receive pushes silently.  Tapping
 * it opens the page the reminder names (Today or Sessions), in an open
 * window of the app if there is one.
 */
const FALLBACK = {title: 'Aftercare', body: 'Open the app to see today.', url: '/'};

/**
 * Only a page of this app may be opened from a notification: `raw` as a path of this
 * origin, or '/'.  Resolved as the browser will resolve it, so "//x" and "/\\x" (a
 * backslash counts as a slash in an http address) cannot lead to another site.
 */
function pathInThisApp(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/')) return FALLBACK.url;
  const target = new URL(raw, self.location.origin);
  return target.origin === self.location.origin ? target.pathname + target.search + target.hash : FALLBACK.url;
}

function readPush(data) {
  try {
    const message = {...FALLBACK, ...data.json()};
    message.url = pathInThisApp(message.url);
    return message;
  } catch {
    return FALLBACK;
  }
}

self.addEventListener('push', (event) => {
  const message = event.data ? readPush(event.data) : FALLBACK;
  event.waitUntil(
    self.registration.showNotification(String(message.title), {
      body: String(message.body),
      tag: typeof message.tag === 'string' ? message.tag : undefined,
      icon: '/static/icons/icon-192.png',
      badge: '/static/icons/icon-192.png',
      data: {url: message.url},
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(pathInThisApp(event.notification.data?.url), self.location.origin).href;
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
      const client = open.find((c) => new URL(c.url).origin === self.location.origin);
      if (client) {
        await client.focus();
        return client.navigate(url);
      }
      return self.clients.openWindow(url);
    })(),
  );
});
