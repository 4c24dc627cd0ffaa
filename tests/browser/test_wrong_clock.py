"""A phone whose clock runs days fast, and a session typed as 2099, each leave sync working:
what could not be stored is explained on screen, and later ticks reach a second device."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from test_checklist import today_here
from test_sync import OLD_APP_SESSION
from test_sync import PLAN_ID
from test_sync import POKE_SYNC
from test_sync import server_events
from test_sync import show_device_link
from test_sync import wait_for_server_state

DAY_MS = 86_400_000
CLOCK = phone_js("return phone('meta', 'get', 'clock');")
SET_ASIDE = phone_js(
    "return ((await phone('meta', 'get', 'setAside')) || []).map(({event}) => event);"
)


def test_a_fast_clock_and_a_2099_session_leave_sync_working_on_a_second_device(
    live_server, profile, second_profile, tmp_path
):
    first = open_controlled(profile, live_server.url + "/")
    href = show_device_link(first, live_server.url).get_attribute("href")
    plan_id = first.evaluate(PLAN_ID)
    second = second_profile.new_page()
    second.goto(href)
    second.get_by_role("button", name="Add this device").click()
    second.wait_for_url(live_server.url + "/")

    # The first phone's clock jumps three days ahead.  Its first sync teaches it how far.
    first.clock.set_system_time(datetime.now(UTC) + timedelta(days=3))
    first.goto(live_server.url + "/")
    expect(first.locator("[data-day-heading]")).to_have_text("Day 3 after session 1")
    status = first.locator("[data-sync-status]")
    expect(status).to_have_text("Synced just now", timeout=15_000)
    offset = first.evaluate(CLOCK)["offset"]
    assert -3 * DAY_MS - 60_000 < offset < -3 * DAY_MS + 60_000

    # A tick for a day the server has not reached, and a session dated 2099 (hand-made:
    # the Sessions form refuses it): both set aside and explained, neither resent.
    first.locator("[data-checklist=today] [data-item-id='no-sweat']").check()
    expect(status).to_contain_text(
        f"A tick for {today_here(-3)} was not saved on the server", timeout=15_000
    )
    expect(status).to_contain_text("Check your phone's date.")
    first.evaluate(OLD_APP_SESSION, "2099-01-01")
    first.evaluate(POKE_SYNC)
    expect(status).to_contain_text("The session dated 2099-01-01 was not saved", timeout=15_000)
    (tick, session) = wait_for_async(
        first, f"async () => {{ const a = await ({SET_ASIDE})(); return a.length === 2 && a; }}"
    )
    assert (tick["day"], session["day"]) == (today_here(-3), "2099-01-01")
    # Stamped with the server's time, not the phone's: it cannot outrank later edits.
    assert abs(tick["ts"] - time.time() * 1000) < 5 * 60_000

    # The clock is put right; a tick today reaches the server and the other phone.
    first.clock.set_system_time(datetime.now(UTC))
    first.goto(live_server.url + "/")
    expect(first.locator("[data-day-heading]")).to_have_text("Day 0 after session 1")
    first.locator("[data-checklist=today] [data-item-id='no-sunbeds']").check()
    wait_for_server_state(live_server, plan_id, "no-sunbeds", True)
    stored = [e for e in server_events(live_server, plan_id) if e.get("item") == "no-sunbeds"]
    assert abs(stored[0]["ts"] - time.time() * 1000) < 5 * 60_000, "stamped days off"
    assert all(e.get("day") != "2099-01-01" for e in server_events(live_server, plan_id))
    expect(status).to_contain_text("A tick for")  # still explained, still not resent

    second.evaluate(POKE_SYNC)
    sunbeds = second.locator("[data-checklist=today] [data-item-id='no-sunbeds']")
    expect(sunbeds).to_be_checked(timeout=15_000)
    expect(second.locator("[data-checklist=today] [data-item-id='no-sweat']")).not_to_be_checked()
    expect(second.locator("[data-sync-status]")).to_contain_text("Synced")
    first.screenshot(path=str(tmp_path / "wrong-clock.png"), full_page=True)
