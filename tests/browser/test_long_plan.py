"""A phone behind a long plan follows the server's paged sync answers to the end, in Chromium
against `make run`: the last page's tick shows on Today."""

from __future__ import annotations

import time
from datetime import date
from datetime import timedelta

from helpers import open_controlled
from helpers import wait_for_async
from playwright.sync_api import expect
from test_at_home import REGISTERED
from test_checklist import onboard
from test_checklist import today_here
from test_sync import PLAN_ID

from pwa import repository
from pwa.db import Store

TICKS_HELD = """async () => {
  const {database} = await import('/static/js/lib/store.js');
  return (await database()).count('ticks');
}"""
POKE_SYNC = "document.dispatchEvent(new Event('visibilitychange'))"
OTHER_DEVICE = "old-tablet-0001"


def test_a_phone_reads_every_page_of_a_long_plan(live_server, profile):
    page = open_controlled(profile, live_server.url + "/")
    onboard(page, today_here(2))
    wait_for_async(page, REGISTERED)
    plan_id = page.evaluate(PLAN_ID)

    # Another device of the plan sent over two pages of ticks while this phone was away,
    # the last of them on today's "hands-off" box.
    store = Store(live_server.data_dir / "plans")
    now = int(time.time() * 1000)
    repository.add_device(store, plan_id, OTHER_DEVICE, "not-used-here", now)
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
        for n in range(2 * repository.PAGE_SIZE + 100)
    ]
    repository.apply_events(store, plan_id, OTHER_DEVICE, older, now)
    last = {**older[0], "id": "last-tick-0001", "day": today_here(0), "item": "hands-off"}
    repository.apply_events(store, plan_id, OTHER_DEVICE, [{**last, "ts": now}], now)

    page.evaluate(POKE_SYNC)
    box = page.locator("[data-checklist=today] [data-item-id='hands-off']")
    expect(box).to_be_checked(timeout=20_000)
    assert page.evaluate(TICKS_HELD) == len(older) + 1
