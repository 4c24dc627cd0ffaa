"""The server's limits as a phone meets them, in Chromium against `make run`: a phone behind
a long plan follows the paged sync answers to the end, and a refused sync says why in plain
words while the tick waits on the phone."""

from __future__ import annotations

import time
from datetime import date
from datetime import timedelta

from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from support import RunningServer
from support import stored_plans
from test_at_home import REGISTERED
from test_checklist import onboard
from test_checklist import today_here
from test_sync import OUTBOX_SIZE
from test_sync import PLAN_ID

from pwa import storage

TICKS_HELD = phone_js("return phone('ticks', 'count');")
POKE_SYNC = "document.dispatchEvent(new Event('visibilitychange'))"
OTHER_DEVICE = "old-tablet-0001"


def test_a_phone_reads_every_page_of_a_long_plan(live_server, profile):
    page = open_controlled(profile, live_server.url + "/")
    onboard(page, today_here(2))
    wait_for_async(page, REGISTERED)
    plan_id = page.evaluate(PLAN_ID)

    # Another device of the plan sent over two pages of ticks while this phone was away,
    # the last of them on today's "hands-off" box.
    store = stored_plans(live_server.data_dir)
    now = int(time.time() * 1000)
    store.add_device(plan_id, OTHER_DEVICE, "not-used-here", now)
    first = date.fromisoformat(today_here(0)) - timedelta(days=2)
    older = [
        {
            "id": f"old-tick-{n:05d}",
            "device": OTHER_DEVICE,
            "counter": n,
            "ts": now - 60_000 + n,
            "day": (first - timedelta(days=1 + n // 20)).isoformat(),
            "item": f"box-{n % 20}",
            "done": True,
        }
        for n in range(2 * storage.PAGE_SIZE + 100)
    ]
    store.apply_events(plan_id, OTHER_DEVICE, older, now)
    last = {**older[0], "id": "last-tick-0001", "day": today_here(0), "item": "hands-off"}
    store.apply_events(plan_id, OTHER_DEVICE, [{**last, "ts": now}], now)

    page.evaluate(POKE_SYNC)
    box = page.locator("[data-checklist=today] [data-item-id='hands-off']")
    expect(box).to_be_checked(timeout=20_000)
    assert page.evaluate(TICKS_HELD) == len(older) + 1


def test_a_refused_sync_says_why_and_keeps_the_tick(tmp_path, profile):
    server = RunningServer(
        tmp_path / "data",
        tmp_path / "server.log",
        WORKERS="2",
        PWA_PLAN_SYNC_RATE_LIMIT="2 per hour",
    ).start()
    try:
        page = open_controlled(profile, server.url + "/")
        onboard(page, today_here(2))
        wait_for_async(page, REGISTERED)
        status = page.locator("[data-sync-status]")
        for item in ("hands-off", "moisturise", "mineral-spf"):
            page.locator(f"[data-checklist=today] [data-item-id='{item}']").check()
            page.evaluate(POKE_SYNC)
        expect(status).to_contain_text("Not synced: Too many requests", timeout=20_000)
        expect(status).to_contain_text("Your ticks are safe on this phone.")
        assert page.evaluate(OUTBOX_SIZE) >= 1
        status.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "refused.png"))
    finally:
        server.stop()
