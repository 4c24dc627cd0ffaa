"""A keyboard user keeps her place (no redraw for the phone's own events coming back from
the server; a redraw for another device's change leaves focus where it was), and any phone
clock gives a Today with the warning signs and no uncaught error."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from helpers import ANOTHER_DEVICE_TICKS
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here

OUTBOX_EMPTY = phone_js(
    "return (await phone('meta', 'get', 'registered')) === true"
    " && (await phone('outbox', 'count')) === 0;"
)


def test_a_keyboard_tick_keeps_focus_through_its_sync_and_a_redraw(live_server, checked_phone):
    page = checked_phone.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(2), setting="clinic")
    box = page.get_by_role("checkbox", name="Kept my hands off my face", exact=True)
    box.focus()
    # Mark the element: a redraw would replace it with a new one.
    box.evaluate("element => { element.dataset.marked = 'yes'; }")
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    wait_for_async(page, OUTBOX_EMPTY)  # the tick went to the server and came back
    expect(page.locator("[data-sync-status]")).to_contain_text("Synced")
    focused = page.evaluate(
        "() => [document.activeElement.id, document.activeElement.dataset.marked]"
    )
    assert focused == [f"tick-{today_here()}-hands-off", "yes"], "her own tick redrew Today"

    # Another device's tick (of another box) redraws Today; the same box keeps focus.
    other = page.locator("[data-checklist=today] input:not([data-item-id='hands-off'])").first
    other_item = other.get_attribute("data-item-id")
    page.evaluate(ANOTHER_DEVICE_TICKS, {"day": today_here(), "item": other_item, "done": True})
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")  # sync now
    expect(other).to_be_checked()
    expect(box).not_to_have_attribute("data-marked", "yes")  # drawn anew
    page.wait_for_function(
        "id => document.activeElement && document.activeElement.id === id",
        arg=f"tick-{today_here()}-hands-off",
    )
    page.keyboard.press("Space")  # and the keyboard still works on it
    expect(box).not_to_be_checked()


def test_any_phone_clock_gives_a_today_and_no_uncaught_error(live_server, checked_phone):
    """Clock offsets from -30 to +30 days around a plan whose session was 2 days ago."""
    page = checked_phone.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    session = today_here(2)
    onboard(page, session, setting="clinic")
    noon = datetime.combine(date.fromisoformat(today_here()), datetime.min.time())
    noon = noon.replace(hour=12, tzinfo=ZoneInfo(TIME_ZONE))
    for offset in range(-30, 31, 5):
        page.clock.set_system_time(noon + timedelta(days=offset))
        page.reload()
        heading = page.locator("[data-day-heading]")
        expect(heading).not_to_be_empty()
        expect(page.locator("#warning-signs")).to_be_visible()
        if offset < -2:  # before the session: the phone's clock must be wrong
            expect(heading).to_have_text("Your phone’s date looks wrong")
            expect(page.locator("[data-day-note]")).to_contain_text(
                f"before your session 1 on {_long(session)}"
            )
        else:
            expect(heading).to_have_text(f"Day {offset + 2} after session 1")
    assert errors == []


def _long(day: str) -> str:
    found = date.fromisoformat(day)
    return f"{found:%A}, {found.day} {found:%B} {found.year}"


def test_days_before_she_set_up_are_not_failures(live_server, checked_phone):
    page = checked_phone.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(5), setting="clinic")
    rows = page.locator("[data-history] li")
    expect(rows).to_have_count(4)  # days 0 to 3; day 4 is yesterday, still tickable
    for row in rows.all():
        expect(row).to_contain_text("before you started")
    yesterday = page.locator("[data-yesterday] > details > summary")
    expect(yesterday).to_contain_text("Yesterday: Day 4")
    expect(yesterday).to_contain_text("0 of")  # still hers to tick
