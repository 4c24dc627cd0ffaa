"""Service-worker helpers for browser tests, after Workbox's own infra/testing."""

from __future__ import annotations

# navigator.serviceWorker.ready resolves while the worker may still be
# "activating": wait for "activated", then for it to control the page.
WAIT_UNTIL_CONTROLLED = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (worker.state !== 'activated') {
    await new Promise((resolve) => worker.addEventListener('statechange',
      () => worker.state === 'activated' && resolve()));
  }
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) =>
      navigator.serviceWorker.addEventListener('controllerchange', resolve, {once: true}));
  }
  return navigator.serviceWorker.controller.scriptURL;
}"""

PRECACHED_URLS = """async () => {
  const names = (await caches.keys()).filter((name) => name.includes('precache'));
  const urls = [];
  for (const name of names) {
    for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
  }
  return {names: await caches.keys(), urls};
}"""


def open_controlled(context, url):
    """Open `url` and wait until the service worker controls the page."""
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(url)
    page.evaluate(WAIT_UNTIL_CONTROLLED)
    return page
