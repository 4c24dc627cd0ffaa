"""The treatment series in real Chromium: offline edits, a new Day 0, the cards on Today, sync."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import as_today_writes
from helpers import axe_violations
from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from support import stored_plans
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here

from pwa.care import series

SESSION_EVENTS = phone_js("return phone('sessions', 'getAll');")
REGISTERED = phone_js("return (await phone('meta', 'get', 'registered')) === true;")
OUTBOX = phone_js("return phone('outbox', 'count');")
PLAN = phone_js("return phone('plan', 'get', 'current');")
BUILD_IN_BROWSER = """async ([plan, events]) => {
  const {buildSeries} = await import('/static/js/lib/series.js');
  return buildSeries(plan, events);
}"""


@pytest.fixture
def phone_profile(checked_phone):
    return checked_phone


def add_session(page, day: str, time: str = "", done: bool = False, warned: str = ""):
    """Add a session through the form; `warned`: the form first asks, saying this."""
    page.get_by_role("button", name="Add a session").click()
    form = page.locator("[data-session-form]")
    form.get_by_label("Date", exact=True).fill(day)
    if time:
        form.get_by_label("Time", exact=False).fill(time)
    form.get_by_label("I have had this session").set_checked(done)
    form.get_by_role("button", name="Save").click()
    if warned:
        warning = form.locator("[data-form-warning]")
        expect(warning).to_contain_text(warned)
        expect(warning).to_be_focused()
        form.get_by_role("button", name="Save anyway").click()
    expect(form).to_be_hidden()


def rows(page) -> list[str]:
    return [text.split("\n")[0] for text in page.locator(".session").all_inner_texts()]


def test_series_edits_offline_survive_a_reload_and_reach_the_server(own_server, phone_profile):
    page = open_controlled(phone_profile, own_server.url + "/")
    onboard(page, today_here(10))
    wait_for_async(page, REGISTERED)
    own_server.stop()  # a real outage: everything below is offline

    page.goto(own_server.url + "/sessions/")
    expect(page.locator("[data-series-heading]")).to_have_text("Session 1 of 4 done")
    earliest = (date.fromisoformat(today_here(10)) + timedelta(days=28)).strftime("%-d %B")
    expect(page.locator("[data-series-window]")).to_contain_text(earliest)
    planned_day = today_here(-3)
    add_session(page, planned_day, "10:30", warned="13 days before this date")
    add_session(page, today_here(-40))
    assert rows(page) == ["Session 1 of 4Done", "Session 2 of 4Planned", "Session 3 of 4Planned"]
    expect(page.locator("[data-series-window]")).to_contain_text("Next: session 2")

    # Remove the later one; change the planned one's time.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".session").nth(2).get_by_role("button", name="Remove").click()
    expect(page.locator(".session")).to_have_count(2)
    page.locator(".session").nth(1).get_by_role("button", name="Change").click()
    page.locator("[data-session-form]").get_by_label("Time", exact=False).fill("11:15")
    page.locator("[data-session-form]").get_by_role("button", name="Save").click()
    expect(page.locator(".session").nth(1)).to_contain_text("11:15")
    # The form refuses a future session logged as done, and changes nothing.
    page.get_by_role("button", name="Add a session").click()
    page.locator("[data-session-form]").get_by_label("Date", exact=True).fill(today_here(-5))
    page.locator("[data-session-form]").get_by_label("I have had this session").check()
    page.locator("[data-session-form]").get_by_role("button", name="Save").click()
    expect(page.locator("[data-form-error]")).to_contain_text("cannot be logged as done")
    assert len(page.evaluate(SESSION_EVENTS)) == 2

    page.reload()
    expect(page.locator(".session")).to_have_count(2)
    expect(page.locator(".session").nth(1)).to_contain_text("11:15")
    assert page.evaluate(OUTBOX) == 4  # add, add, remove, change: each waits for the server

    # Today: "Next session in 3 days"; the day after the session is still day 10.
    page.goto(own_server.url + "/")
    expect(page.locator("[data-card=next]")).to_contain_text("Next session in 3 days")
    expect(page.locator("[data-day-heading]")).to_have_text("Day 10 after session 1")

    own_server.start()
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_for_async(page, f"async () => (await ({OUTBOX})()) === 0", timeout=20)
    plan_id = page.evaluate(PLAN)["planId"]
    stored = stored_plans(own_server.data_dir).session_events(plan_id)
    assert len(stored) == 4
    plan = json.loads(json.dumps(page.evaluate(PLAN)))
    wire = {
        "sessions": plan["sessions"],
        "next_session": plan["nextSession"],
        "planned_sessions": plan["plannedSessions"],
    }
    on_server = series.build(wire, stored)
    assert [(s["day"], s["time"], s["status"]) for s in on_server] == [
        (today_here(10), None, "done"),
        (planned_day, "11:15", "planned"),
    ]
    assert not axe_violations(page)


def test_logging_the_session_of_today_starts_a_new_day_0(live_server, phone_profile):
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(30))
    page.goto(live_server.url + "/sessions/")
    add_session(page, today_here(0), "09:00")
    page.goto(live_server.url + "/")
    due = page.locator("[data-card=due]", has_text="is today")
    expect(due).to_contain_text("Session 2 is today at 09:00")
    due.get_by_role("button", name="I have had my session").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 0 after session 2")
    boxes = page.locator("[data-checklist] input[type=checkbox]")
    assert "hands-off" in [boxes.nth(i).get_attribute("data-item-id") for i in range(boxes.count())]
    page.goto(live_server.url + "/sessions/")
    expect(page.locator("[data-series-heading]")).to_have_text("Session 2 of 4 done")


def test_a_planned_session_whose_day_passed_asks_to_be_logged(live_server, phone_profile):
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(40))
    page.goto(live_server.url + "/sessions/")
    add_session(page, today_here(2))
    expect(page.locator(".session").nth(1)).to_contain_text("Not logged")
    page.goto(live_server.url + "/")
    card = page.locator("[data-card=due]", has_text="Did session 2 happen")
    card.get_by_role("button", name="Yes, log it").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 2 after session 2")


@pytest.mark.parametrize("starts_planned", [False, True])
def test_series_rules_match_the_server(live_server, phone, starts_planned):
    page = phone.new_page()
    page.goto(live_server.url + "/learn/")
    plan = {
        "sessions": [{"day": "2026-03-02", "number": 2}],
        "next_session": "2026-04-06",
        "planned_sessions": 4,
        "starts_planned": starts_planned,
    }
    browser_plan = {
        "sessions": plan["sessions"],
        "nextSession": "2026-04-06",
        "plannedSessions": 4,
        "startsPlanned": starts_planned,
    }
    events = [
        {
            "id": f"event-{n:04d}",
            "device": device,
            "counter": n,
            "ts": ts,
            "session": session,
            "day": day,
            "time": time,
            "status": status,
        }
        for n, (device, ts, session, day, time, status) in enumerate(
            [
                ("device-a", 5, "initial-next", "2026-04-13", "10:00", "planned"),
                ("device-b", 5, "initial-next", "2026-04-20", None, "planned"),
                ("device-a", 7, "early", "2026-01-10", None, "done"),
                ("device-b", 3, "late", "2026-06-01", "08:30", "planned"),
                ("device-a", 4, "late", "2026-06-01", None, "cancelled"),
                ("device-a", 9, "same-day", "2026-04-20", None, "planned"),
            ]
        )
    ]
    in_browser = page.evaluate(BUILD_IN_BROWSER, [browser_plan, events])
    on_server = [
        {k: v for k, v in s.items() if k != "sequence"} for s in series.build(plan, events)
    ]
    assert in_browser == on_server
    first = next(s for s in on_server if s["session"] == "initial-2")
    assert first["status"] == ("planned" if starts_planned else "done")


def test_evening_card_shows_while_items_are_open_and_goes_when_all_are_ticked(
    live_server, phone_profile
):
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(5))
    # 19:30 in London on the plan's current day: the evening check is due.
    evening = datetime.combine(date.fromisoformat(today_here()), datetime.min.time())
    evening = evening.replace(hour=19, minute=30, tzinfo=ZoneInfo(TIME_ZONE))
    page.clock.set_fixed_time(evening)
    page.reload()
    card = page.locator("[data-card=due]", has_text="Evening check")
    expect(card).to_contain_text("not ticked yet today")
    # Its link goes to today's list, not to the sessions.
    card.get_by_role("link", name="Go to today’s list").click()
    expect(page.locator("[data-checklist=today]")).to_be_focused()
    expect(page.locator("[data-checklist=today] input[type=checkbox]").first).to_be_in_viewport()
    boxes = page.locator("[data-checklist] input[type=checkbox]")
    for index in range(boxes.count()):
        boxes.nth(index).check()
    expect(card).to_have_count(0)
    # Morning: no evening card even with everything open.
    page.clock.set_fixed_time(evening.replace(hour=9))
    for index in range(boxes.count()):
        boxes.nth(index).uncheck()
    page.reload()
    expect(page.locator("[data-checklist] input[type=checkbox]").first).to_be_visible()
    expect(page.locator("[data-card=due]", has_text="Evening check")).to_have_count(0)


def test_no_evening_card_in_the_hour_after_a_session_is_logged(live_server, phone_profile):
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(30))
    page.goto(live_server.url + "/sessions/")
    add_session(page, today_here(0), "17:00")
    # 18:30 in London: back from session 2, she logs it from Today's card.
    back = datetime.combine(date.fromisoformat(today_here()), datetime.min.time())
    back = back.replace(hour=18, minute=30, tzinfo=ZoneInfo(TIME_ZONE))
    page.clock.set_fixed_time(back)
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="I have had my session").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 0 after session 2")
    evening = page.locator("[data-card=due]", has_text="Evening check")
    expect(evening).to_have_count(0)
    page.reload()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 0 after session 2")
    expect(evening).to_have_count(0)
    # An hour and more later the day's open items are worth a reminder again.
    page.clock.set_fixed_time(back + timedelta(minutes=75))
    page.reload()
    expect(evening).to_contain_text("not ticked yet today")


SHARED_OUTBOX_EMPTY = """async () => {
  const saved = JSON.parse(sessionStorage.getItem('aftercare:shared-db') || '{}');
  return Array.isArray(saved.outbox) && saved.outbox.length === 0 && saved.ticks.length > 0;
}"""
RAW_STORAGE = """async () => {
  const names = (await indexedDB.databases()).map((d) => d.name);
  let plans = 0;
  if (names.includes('aftercare')) {
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open('aftercare');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    plans = await new Promise((resolve) => {
      const request = db.transaction('plan').objectStore('plan').count();
      request.onsuccess = () => resolve(request.result);
    });
    db.close();
  }
  // Only the plan's snapshot would be personal; other keys are UI flags ("offline ready shown").
  return {plans, local: localStorage.getItem('aftercare:today') === null ? 0 : 1};
}"""


def test_a_shared_device_keeps_the_plan_only_while_the_tab_is_open(live_server, phone_profile):
    # live_server has push set up: the notifications section then says why it is off here.
    page = open_controlled(phone_profile, live_server.url + "/")
    page.locator("[data-onboarding]").wait_for()
    page.get_by_label("This is a shared or borrowed device").check()
    onboard(page, today_here(1))
    page.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    # The tab's own copy of the database, as the app saves it (lib/ephemeral-db.js).
    wait_for_async(page, SHARED_OUTBOX_EMPTY, timeout=20)
    # Nothing of the plan in IndexedDB or localStorage: only in this tab's session storage.
    assert page.evaluate(RAW_STORAGE) == {"plans": 0, "local": 0}
    page.reload()
    expect(page.locator("[data-checklist=today] [data-item-id='hands-off']")).to_be_checked()
    page.goto(live_server.url + "/settings/")
    expect(page.locator("[data-shared-device-note]")).to_be_visible()
    expect(page.locator("[data-notify-shared]")).to_be_visible()

    page.close()  # the tab closes: its session storage goes with it
    again = phone_profile.new_page()
    again.goto(live_server.url + "/")
    again.locator("[data-onboarding]").wait_for()
    assert again.evaluate(RAW_STORAGE) == {"plans": 0, "local": 0}


def test_a_session_date_the_server_would_refuse_is_refused_at_entry(live_server, phone_profile):
    """A year typed wrong (2099) never reaches the outbox, where it would stop sync."""
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(3))
    limits = page.evaluate(
        "async () => { const s = await import('/static/js/lib/series.js');"
        " return [s.FURTHEST_BACK_DAYS, s.FURTHEST_AHEAD_DAYS]; }"
    )
    assert limits == [series.FURTHEST_BACK.days, series.FURTHEST_AHEAD.days]
    page.goto(live_server.url + "/sessions/")
    page.get_by_role("button", name="Add a session").click()
    form = page.locator("[data-session-form]")
    form.get_by_label("Date", exact=True).fill("2099-01-01")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("[data-form-error]")).to_have_text(
        "Thursday, 1 January 2099 is more than 3 years back or 2 years ahead. Check the year."
    )
    assert len(page.evaluate(SESSION_EVENTS)) == 0
    assert page.evaluate(OUTBOX) == 0


def test_a_new_session_starts_after_the_last_and_a_close_or_renumbering_one_asks_first(
    live_server, phone_profile, tmp_path
):
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(10))
    page.goto(live_server.url + "/sessions/")
    form = page.locator("[data-session-form]")
    day_field = form.get_by_label("Date", exact=True)
    # The first free date is the protocol's shortest interval (28 days) after the last session.
    page.get_by_role("button", name="Add a session").click()
    expect(day_field).to_have_value(today_here(10 - 28))
    form.get_by_role("button", name="Cancel").click()
    add_session(page, today_here(-18))  # 28 days after session 1: no question
    page.get_by_role("button", name="Add a session").click()
    expect(day_field).to_have_value(today_here(-18 - 28))

    # Between the two, 15 days after session 1: too close to both, and it renumbers session 2.
    day_field.fill(today_here(-5))
    form.get_by_role("button", name="Save").click()
    warning = form.locator("[data-form-warning]")
    expect(warning).to_be_focused()
    expect(warning).to_be_in_viewport()
    session_1, session_2 = (date.fromisoformat(today_here(n)) for n in (10, -18))
    expect(warning).to_contain_text(
        f"Session 1 is on {as_today_writes(session_1)}, 15 days before this date."
    )
    expect(warning).to_contain_text(
        f"Session 2 is on {as_today_writes(session_2)}, 13 days after this date."
    )
    expect(warning).to_contain_text("at least 28 days apart")
    expect(warning).to_contain_text(f"session 2 ({as_today_writes(session_2)}) becomes session 3")
    page.screenshot(path=str(tmp_path / "session-warning.png"))
    assert len(page.evaluate(SESSION_EVENTS)) == 1, "nothing saved before she agrees"
    # Another date: the question no longer stands.
    day_field.fill(today_here(-50))
    expect(warning).to_be_hidden()
    expect(form.get_by_role("button", name="Save", exact=True)).to_be_visible()
    # Back to the close date, and "Save anyway" keeps it.
    day_field.fill(today_here(-5))
    form.get_by_role("button", name="Save").click()
    form.get_by_role("button", name="Save anyway").click()
    expect(form).to_be_hidden()
    expect(page.locator("[data-sessions-status]")).to_have_text(
        f"Session added on {as_today_writes(date.fromisoformat(today_here(-5)))}."
    )
    assert rows(page) == ["Session 1 of 4Done", "Session 2 of 4Planned", "Session 3 of 4Planned"]
    # A date outside this year is written with its year, one in it without.
    for row, day in zip(page.locator(".session").all(), (10, -5, -18), strict=True):
        expect(row).to_contain_text(as_today_writes(date.fromisoformat(today_here(day))))
    assert not axe_violations(page)
