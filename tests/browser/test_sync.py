"""Sync in real Chromium against `make run`: the outbox drains exactly once after an outage,
and a second device joined through the device link sees and changes the same ticks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import axe_violations
from helpers import launch_profile
from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from support import stored_plans
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here

from pwa.storage import PlanNotFound

OUTBOX_SIZE = phone_js("return phone('outbox', 'count');")
PLAN_ID = phone_js("return (await phone('plan', 'get', 'current')).planId;")
POKE_SYNC = "document.dispatchEvent(new Event('visibilitychange'))"


def show_device_link(page, base_url):
    """Onboard, wait for the plan to reach the server, and show a device link in Settings."""
    onboard(page, today_here(0))
    wait_for_async(page, REGISTERED)
    page.goto(base_url + "/settings/")
    # Shown only for a plan the server has: hence the wait for REGISTERED above.
    page.locator("[data-devices-ready]").wait_for(timeout=10_000)
    page.get_by_role("button", name="Show a link").click()
    link = page.locator("[data-device-link]")
    expect(link).to_have_attribute("href", re.compile(r"^http"))
    return link


def server_events(server, plan_id):
    return stored_plans(server.data_dir).export_plan(plan_id)["events"]


def wait_for_server_state(server, plan_id, item, done, timeout=15.0):
    """Poll the real TinyDB file until the winning tick of `item` is `done`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = stored_plans(server.data_dir).tick_state(plan_id)
        except PlanNotFound:  # the phone has not registered the plan yet
            state = {}
        if any(key[1] == item and event["done"] is done for key, event in state.items()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the server never saw {item} done={done}")


def test_outbox_drains_exactly_once_after_an_outage(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    onboard(page, today_here(1))
    status = page.locator("[data-sync-status]")
    expect(status).to_have_text("Synced just now", timeout=15_000)
    plan_id = page.evaluate(PLAN_ID)

    own_server.stop()
    page.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    page.locator("[data-checklist=today] [data-item-id='moisturise']").check()
    expect(status).to_have_text("Offline — will sync", timeout=15_000)
    assert page.evaluate(OUTBOX_SIZE) == 2

    own_server.start()
    expect(status).to_have_text("Synced just now", timeout=30_000)
    assert page.evaluate(OUTBOX_SIZE) == 0
    events = server_events(own_server, plan_id)
    assert sorted(e["item"] for e in events) == ["hands-off", "moisturise"]
    assert len({e["id"] for e in events}) == 2


def test_a_joined_device_sees_the_ticks_and_a_later_untick_wins(
    own_server, profile, second_profile, browser
):
    first = open_controlled(profile, own_server.url + "/")
    onboard(first, today_here(2))
    first.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    plan_id = first.evaluate(PLAN_ID)
    wait_for_server_state(own_server, plan_id, "hands-off", True)

    first.goto(own_server.url + "/settings/")
    first.get_by_role("button", name="Show a link").click()
    link = first.locator("[data-device-link]")
    expect(link).to_have_attribute("href", re.compile(r"^http"))
    href = link.get_attribute("href")
    assert href.startswith(own_server.url + "/settings/join#")
    assert "?" not in href and href.split("#")[1] not in href.split("#")[0]

    second = second_profile.new_page()
    second.goto(href)
    second.get_by_role("button", name="Add this device").click()
    assert "#" not in second.url, "the token leaves the address bar"
    second.wait_for_url(own_server.url + "/")
    box = second.locator("[data-checklist=today] [data-item-id='hands-off']")
    expect(box).to_be_checked(timeout=15_000)
    assert second.locator("[data-day-heading]").inner_text() == "Day 2 after session 1"

    # Opened again on the device that used it, the link says the plan is already there ...
    again = second_profile.new_page()
    again.goto(href)
    expect(again.locator("[data-join-already]")).to_contain_text("already on this phone")
    again.close()
    # ... and on any other device it cannot be used twice.
    third = browser.new_context().new_page()
    third.goto(href)
    third.get_by_role("button", name="Add this device").click()
    expect(third.get_by_role("alert").last).to_contain_text("expired or was already used")
    third.context.close()

    box.uncheck()
    wait_for_server_state(own_server, plan_id, "hands-off", False)
    first.goto(own_server.url + "/")
    mine = first.locator("[data-checklist=today] [data-item-id='hands-off']")
    first.evaluate(POKE_SYNC)
    expect(mine).not_to_be_checked(timeout=15_000)


# Read inside the service worker: the requests Workbox queued for Background Sync.
QUEUED_IN_WORKER = """async (item) => {
  // Never open (and so create) the database before Workbox does: an empty
  // version-1 database held open here would block Workbox's own upgrade.
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes('workbox-background-sync')) return 0;
  return new Promise((resolve) => {
    const open = indexedDB.open('workbox-background-sync');
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('requests')) {
        db.close();
        return resolve(0);
      }
      const all = db.transaction('requests').objectStore('requests').getAll();
      all.onsuccess = () => {
        db.close();
        const bodies = all.result.map((entry) => new TextDecoder().decode(entry.requestData.body));
        resolve(bodies.filter((body) => body.includes(item)).length);
      };
    };
  });
}"""
REGISTERED = phone_js("return (await phone('meta', 'get', 'registered')) === true;")


def queued_in_worker(context, item: str) -> int:
    """How many requests the service worker queued for Background Sync carry `item`."""
    return sum(worker.evaluate(QUEUED_IN_WORKER, item) for worker in context.service_workers)


def test_background_sync_delivers_a_tick_after_the_app_is_closed(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    onboard(page, today_here(1))
    wait_for_async(page, REGISTERED)
    expect(page.locator("[data-sync-status]")).to_have_text("Synced just now", timeout=15_000)
    plan_id = page.evaluate(PLAN_ID)

    own_server.stop()
    page.locator("[data-checklist=today] [data-item-id='moisturise']").check()
    # The page's sync fails for want of a network; the service worker queues it.
    deadline = time.monotonic() + 20
    while queued_in_worker(profile, "moisturise") == 0:
        assert time.monotonic() < deadline, "nothing was queued for Background Sync"
        time.sleep(0.25)
    page.close()  # the app is closed: its own outbox cannot flush any more

    own_server.start()
    probe = profile.new_page()  # about:blank: no app code runs here
    cdp = profile.new_cdp_session(probe)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda update: registrations.extend(update["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        probe.wait_for_timeout(100)
    (registration,) = [r for r in registrations if r["scopeURL"] == own_server.url + "/"]
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": own_server.url,
            "registrationId": registration["registrationId"],
            "tag": "workbox-background-sync:aftercare-sync",
            "lastChance": False,
        },
    )
    wait_for_server_state(own_server, plan_id, "moisturise", True, timeout=20)


ZBARIMG = shutil.which("zbarimg")


def test_device_link_qr_code_decodes_to_the_link(own_server, profile, tmp_path):
    if not ZBARIMG:
        if os.environ.get("CI"):
            pytest.fail("CI is set and zbarimg is missing: apt-get install zbar-tools")
        pytest.skip("zbarimg missing: apt-get install zbar-tools")
    page = open_controlled(profile, own_server.url + "/")
    link = show_device_link(page, own_server.url)
    picture = tmp_path / "qr.png"
    qr = page.get_by_role("img", name="QR code of the link below")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    qr.evaluate("img => img.scrollIntoView({block: 'center'})")  # clear of the tab bar
    qr.screenshot(path=picture)
    decoded = subprocess.run(
        [ZBARIMG, "--raw", "-q", str(picture)], capture_output=True, text=True, timeout=30
    )
    assert decoded.stdout.strip() == link.get_attribute("href")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_settings_with_a_link_and_the_join_page_pass_axe(own_server, playwright, tmp_path, scheme):
    context = launch_profile(
        playwright, tmp_path / "axe", timezone_id=TIME_ZONE, color_scheme=scheme, bypass_csp=True
    )
    try:
        page = context.new_page()
        page.goto(own_server.url + "/")
        link = show_device_link(page, own_server.url)
        assert axe_violations(page) == []
        href = link.get_attribute("href")
        page.goto(href)  # its own link: the plan is here already
        expect(page.locator("[data-join-already]")).to_contain_text("already on this phone")
        assert axe_violations(page) == []
        other = launch_profile(
            playwright, tmp_path / "other", color_scheme=scheme, bypass_csp=True
        ).new_page()
        other.goto(href)  # a device without the plan is offered it
        expect(other.get_by_role("button", name="Add this device")).to_be_enabled()
        assert axe_violations(other) == []
        other.context.close()
    finally:
        context.close()


def test_a_removed_device_stops_syncing_and_says_why(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    onboard(page, today_here(0))
    wait_for_async(page, REGISTERED)
    plan_id = page.evaluate(PLAN_ID)
    store = stored_plans(own_server.data_dir)
    (device,) = store.list_devices(plan_id)
    store.revoke_device(plan_id, device["device"])
    page.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    status = page.locator("[data-sync-status]")
    expect(status).to_contain_text("this phone was removed")
    expect(status).to_contain_text("ask your clinic for a new invitation")  # what to do
    page.reload()
    expect(page.locator("[data-checklist=today] [data-item-id='hands-off']")).to_be_checked()


def test_export_and_delete_my_data_from_settings(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    onboard(page, today_here(0))
    page.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    plan_id = page.evaluate(PLAN_ID)
    wait_for_server_state(own_server, plan_id, "hands-off", True)
    page.goto(own_server.url + "/settings/")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export my data").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["plan"]["planId"] == plan_id
    assert [t["item"] for t in exported["ticks"]] == ["hands-off"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete my data").click()
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_be_visible()
    assert not stored_plans(own_server.data_dir).plan_exists(plan_id)
    page.goto(own_server.url + "/")
    expect(page.locator("[data-onboarding]")).to_be_visible()


FORGOTTEN = phone_js("""return {
  plan: Boolean(await phone('plan', 'get', 'current')),
  caches: (await caches.keys()).length,
  workers: (await navigator.serviceWorker.getRegistrations()).length,
  snapshot: localStorage.length,
};""")


def test_forget_this_device_clears_the_browser_and_unlinks_it(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    onboard(page, today_here(1))
    wait_for_async(page, REGISTERED)
    plan_id = page.evaluate(PLAN_ID)
    device = page.evaluate(phone_js("return phone('meta', 'get', 'device');"))
    page.goto(own_server.url + "/settings/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Forget this device").click()
    page.wait_for_url(own_server.url + "/")
    page.locator("[data-onboarding]").wait_for()  # a first visit again
    state = page.evaluate(FORGOTTEN)
    assert state["plan"] is False and state["snapshot"] == 0
    devices = stored_plans(own_server.data_dir).list_devices(plan_id)
    assert [d["revoked"] for d in devices if d["device"] == device] == [True]


# What an older version of the app let through (a session typed as 2099), written into the
# phone's session store and outbox as that version did, then a sync asked for (POKE_SYNC).
# `arg`: the day.  The counter is far past the app's: it only breaks ties.
OLD_APP_SESSION = phone_js("""
  const device = await phone('meta', 'get', 'device');
  const event = {id: crypto.randomUUID(), device, counter: 1000000 + Date.now() % 1000000,
                 ts: Date.now(), session: 'typo', day: arg, time: null, status: 'planned'};
  await phone('sessions', 'put', event);
  await phone('outbox', 'put', event);
""")


def test_a_set_aside_change_is_explained_and_sync_goes_on(live_server, profile):
    page = open_controlled(profile, live_server.url + "/")
    onboard(page, today_here(2))
    status = page.locator("[data-sync-status]")
    expect(status).to_have_text("Synced just now", timeout=15_000)
    plan_id = page.evaluate(PLAN_ID)
    page.evaluate(OLD_APP_SESSION, "2099-01-01")
    page.evaluate(POKE_SYNC)
    expect(status).to_contain_text(
        "The session dated 2099-01-01 was not saved on the server (must be within 3 years before"
        " and 2 years after today). Change its date on Sessions.",
        timeout=15_000,
    )
    # Sync goes on: a later tick reaches the server, and the bad edit is not resent.
    page.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    wait_for_server_state(live_server, plan_id, "hands-off", True)
    wait_for_async(page, f"async () => (await ({OUTBOX_SIZE})()) === 0")
    # Fixing the date clears the explanation.
    page.evaluate(OLD_APP_SESSION, today_here(-30))
    page.evaluate(POKE_SYNC)
    expect(status).to_have_text("Synced just now", timeout=15_000)
