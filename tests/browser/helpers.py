"""Service-worker helpers for browser tests, after Workbox's own infra/testing."""

from __future__ import annotations

import os
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

from playwright.sync_api import expect
from support import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Flags that keep Chromium from reaching for the network on a closed machine.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

# The clinic of the console tests: a practitioner account and the clinic's settings.
PRACTITIONER_EMAIL = "dr.ana@harbour-skin.co.uk"
PRACTITIONER_PASSWORD = "a long practitioner passphrase"
CLINIC = {
    "PWA_CLINIC_NAME": "Harbour Skin Clinic",
    "PWA_CLINIC_PHONE": "+44 20 7946 0000",
    "PWA_CLINIC_WHATSAPP": "+44 7700 900123",
    "PWA_CLINIC_BOOKING_URL": "https://harbour-skin.example.co.uk/book",
    "PWA_CLINIC_TIME_ZONE": "Europe/London",
}

AXE = ROOT / "service_worker" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

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

# The phone's database as a test inspects it: its own IndexedDB connection, opened and
# closed for each look.  Never the app's modules: importing them again from a test would
# make a second state owner beside the page's (static/js/lib/plan-state.js), and a copy
# that is not the bundle the page runs.  `phone(store, method, ...args)` runs one request
# (get, getAll, count, put, delete) in its own transaction; a phone with no database yet
# answers undefined, [] or 0, and gets no empty database the app would then not upgrade.
PHONE_DB = """
const phone = async (store, method, ...args) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('aftercare');
    request.onupgradeneeded = () => request.transaction.abort();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      request.error?.name === 'AbortError' ? resolve(null) : reject(request.error);
  });
  if (!db) return {count: 0, getAll: []}[method];
  try {
    const mode = ['put', 'delete'].includes(method) ? 'readwrite' : 'readonly';
    return await new Promise((resolve, reject) => {
      const request = db.transaction(store, mode).objectStore(store)[method](...args);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
};
"""


class HeldRequests:
    """The page's requests matching `pattern` held back until release(): what a page shows
    before its modules have loaded."""

    def __init__(self, page, pattern: str):
        self.held: list = []
        self._released = False
        page.route(pattern, self._hold)

    def _hold(self, route) -> None:
        if self._released:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        self._released = True
        for route in self.held:
            route.continue_()


def phone_js(body: str) -> str:
    """An async function for page.evaluate whose `body` may call phone(...) (PHONE_DB); its
    argument is `arg`."""
    return "async (arg) => {" + PHONE_DB + body + "}"


# Another device of the same plan ticks a box: the page's own credential makes a device
# link, a new device joins with it and syncs one tick, all through the server's API, as
# a second phone would.  `arg`: {day, item, done}.  The page sees it at its next sync.
ANOTHER_DEVICE_TICKS = phone_js(
    """
  const planId = (await phone('plan', 'get', 'current')).planId;
  const call = async (method, url, body, auth) => {
    const headers = {'Content-Type': 'application/json'};
    if (auth) headers.Authorization = `Bearer ${auth}`;
    const response = await fetch(url, {method, headers, body: JSON.stringify(body)});
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  };
  const [device, credential] = [await phone('meta', 'get', 'device'),
                                await phone('meta', 'get', 'credential')];
  const mine = `${device}.${credential}`;
  const {link} = await call('POST', `/api/plans/${planId}/join-tokens`, {}, mine);
  const token = link.split('#')[1].split('.')[1];
  const other = {device_id: 'other-phone-' + Date.now(), credential: crypto.randomUUID()};
  await call('POST', '/api/join', {plan_id: planId, token, ...other});
  const event = {id: crypto.randomUUID(), device: other.device_id, counter: 1, ts: Date.now(),
                 ...arg};
  await call('POST', `/api/plans/${planId}/sync`, {events: [event], cursor: 0},
             `${other.device_id}.${other.credential}`);
"""
)

PRECACHED_URLS = """async () => {
  const names = (await caches.keys()).filter((name) => name.includes('precache'));
  const urls = [];
  for (const name of names) {
    for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
  }
  return {names: await caches.keys(), urls};
}"""


def open_controlled(context, url):
    """Open `url` and wait until the service worker controls the page.

    `page.requests` collects every URL the context asks for from then on,
    the service worker's own fetches (the precache download) included.
    """
    page = context.new_page()
    page.requests = []
    context.on("request", lambda request: page.requests.append(request.url))
    page.goto(url)
    page.evaluate(WAIT_UNTIL_CONTROLLED)
    return page


def as_today_writes(day) -> str:
    """A date as the app writes it ("Monday 7 December"), with the year when it is not this
    year ("Monday, 4 January 2027"), like formatDay in static/js/components/due-cards.js."""
    if day.year == datetime.now(UTC).year:
        return f"{day:%A} {day.day} {day:%B}"
    return f"{day:%A}, {day.day} {day:%B} {day.year}"


def new_client_plan(desk, server_url: str, nickname: str, last: str, next_day: str = "") -> str:
    """Sign in to the console on the practitioner's laptop, make a plan; its invitation link."""
    console = desk.new_page()
    console.goto(server_url + "/console/")
    if "/console/login" in console.url:  # not signed in on this laptop yet
        console.get_by_label("E-mail").fill(PRACTITIONER_EMAIL)
        console.get_by_label("Password").fill(PRACTITIONER_PASSWORD)
        console.get_by_role("button", name="Log in").click()
    console.get_by_role("link", name="New client plan").click()
    console.get_by_label("Nickname").fill(nickname)
    console.get_by_label("Date of this session").fill(last)
    if next_day:
        console.get_by_label("Next session").fill(next_day)
    console.get_by_role("button", name="Create plan and invitation").click()
    link = console.locator("[data-invitation-link]").get_attribute("href")
    console.close()
    return link


def accept_invitation(context, server_url: str, link: str):
    """Open a clinic's invitation link on a phone and tap Start (once its script has checked
    the invitation); the page, showing Today."""
    phone = open_controlled(context, server_url + "/")
    phone.goto(link)
    start = phone.get_by_role("button", name="Start")
    expect(start).to_be_enabled()
    start.click()
    phone.locator("[data-checklist] input[type=checkbox]").first.wait_for()
    return phone


def axe_violations(page) -> list[tuple[str, list]]:
    """Run axe-core in the page (its context must bypass the CSP) and list what fails."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    assert len(result["passes"]) > 10, "axe really ran"
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


def launch_profile(playwright, folder, **options):
    """A persistent Chromium profile (like a phone's browser) at phone size.

    Installability needs a persistent profile: an incognito-like context always
    answers "in-incognito".  `options` go to launch_persistent_context.
    """
    settings = {"viewport": {"width": 390, "height": 844}, **options}
    return playwright.chromium.launch_persistent_context(
        str(folder), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, **settings
    )


def wait_for_async(page, script: str, arg=None, timeout: float = 15.0, interval: float = 0.1):
    """Evaluate an async function until it resolves truthy; return that value.

    page.wait_for_function cannot do this: an async function returns a
    Promise, which is truthy at once, so it would "succeed" without waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still falsy ({value!r}) after {timeout} s: {script}")
        page.wait_for_timeout(interval * 1000)
