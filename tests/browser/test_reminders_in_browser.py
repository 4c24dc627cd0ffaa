"""Reminders in real Chromium: the calendar link in Settings, and the worker's push handler."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from helpers import launch_profile
from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from icalendar import Calendar
from playwright.sync_api import expect
from support import wait_until
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here
from test_sessions import add_session

REGISTERED = phone_js("return Boolean(await phone('meta', 'get', 'registered'));")
NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const shown = await registration.getNotifications();
  return shown.map((n) => ({title: n.title, body: n.body, url: n.data.url}));
}"""


@pytest.fixture
def phone_profile(playwright, tmp_path):
    context = launch_profile(playwright, tmp_path / "phone", timezone_id=TIME_ZONE)
    yield context
    context.close()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def settings_of_a_registered_phone(profile, base_url: str, days_ago: int = 3):
    """Onboard, wait until the server has the plan, and open Settings."""
    page = open_controlled(profile, base_url + "/")
    onboard(page, today_here(days_ago))
    wait_for_async(page, REGISTERED)
    page.goto(base_url + "/settings/")
    return page


def test_calendar_link_in_settings_subscribes_and_resets(live_server, phone_profile):
    page = settings_of_a_registered_phone(phone_profile, live_server.url)
    box = page.locator("[data-calendar]")
    box.get_by_role("button", name="Get calendar link").click()
    feed = box.locator("a[data-calendar-feed]")
    expect(feed).to_have_attribute("href", re.compile(r"^http://.*calendar\.ics\?plan="))
    first = feed.get_attribute("href")
    assert first.startswith(live_server.url + "/sessions/calendar.ics?plan=")
    subscribe = box.get_by_role("link", name="Subscribe in your calendar app")
    assert subscribe.get_attribute("href") == "webcal://" + first.split("://", 1)[1]
    # Android's way in: Google Calendar subscribes to the same feed by its address.
    google = urlsplit(box.get_by_role("link", name="Add to Google Calendar").get_attribute("href"))
    assert (address := f"{google.scheme}://{google.netloc}{google.path}") == (
        "https://calendar.google.com/calendar/r"
    ), address
    assert parse_qs(google.query)["cid"] == [subscribe.get_attribute("href")]

    status, body = fetch(first)
    assert status == 200
    calendar = Calendar.from_ical(body)
    summaries = [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]
    assert "Skin appointment" in summaries, "neutral title by default"
    assert any(s.startswith("Aftercare check-in") for s in summaries)

    # The link is kept on this phone: a reload shows the same one.
    page.reload()
    expect(box.locator("a[data-calendar-feed]")).to_have_attribute("href", first)

    page.once("dialog", lambda dialog: dialog.accept())
    box.get_by_role("button", name="Reset calendar link").click()
    expect(box.locator("[data-calendar-status]")).to_contain_text("old one no longer works")
    second = box.locator("a[data-calendar-feed]").get_attribute("href")
    assert second != first
    assert fetch(first)[0] == 404
    assert fetch(second)[0] == 200


def test_settings_never_asks_for_notifications_on_load(live_server, phone_profile):
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(1))
    wait_for_async(page, REGISTERED)
    page.goto(live_server.url + "/settings/")
    page.locator("[data-notifications]").wait_for()
    # Push is set up on this server: the form is offered, and nothing is asked until a tap.
    expect(page.locator("[data-notify-form]")).to_be_visible()
    assert page.evaluate("Notification.permission") == "default"


def test_without_push_on_the_server_settings_says_so_in_one_line_and_shows_no_form(
    own_server, phone_profile
):
    page = open_controlled(phone_profile, own_server.url + "/")
    onboard(page, today_here(1))
    wait_for_async(page, REGISTERED)
    page.goto(own_server.url + "/settings/")
    section = page.locator("section").filter(has=page.get_by_role("heading", name="Notifications"))
    expect(section.locator("p")).to_have_text(
        [
            "Notifications are not set up on this clinic's server. "
            "The calendar link above still reminds you."
        ]
    )
    expect(section.locator("form, input, button")).to_have_count(0)


def test_every_push_shows_a_notification_that_opens_the_app(live_server, phone_profile):
    phone_profile.grant_permissions(["notifications"], origin=live_server.url)
    page = open_controlled(phone_profile, live_server.url + "/")
    cdp = phone_profile.new_cdp_session(page)
    registration_id = None

    def remember(event):
        nonlocal registration_id
        for version in event["versions"]:
            if version["status"] == "activated":
                registration_id = version["registrationId"]

    # Listening before enabling: enabling reports the worker versions there are.
    cdp.on("ServiceWorker.workerVersionUpdated", remember)
    cdp.send("ServiceWorker.enable")
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    def activated_version_reported() -> bool:
        page.evaluate("0")  # Playwright hands over the CDP events received so far
        return registration_id is not None

    wait_until(activated_version_reported, timeout=15)

    def push(data: str):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server.url, "registrationId": registration_id, "data": data},
        )

    def shown_after(data: str, title: str) -> dict:
        """Push `data` and return the notification it showed (found by its title)."""
        look = f"async (t) => (await ({NOTIFICATIONS})()).find((n) => n.title === t)"
        # Headless Chromium may drop a shown notification again before a busy test looks:
        # the same push is sent again (its tag replaces any copy) up to three times.
        for attempt in range(3):
            push(data)
            try:
                return wait_for_async(page, look, title, timeout=5)
            except AssertionError:
                if attempt == 2:
                    raise

    assert shown_after(
        '{"title": "Appointment tomorrow", "body": "Your skin appointment is tomorrow.", '
        '"url": "/sessions/", "tag": "session-tomorrow"}',
        "Appointment tomorrow",
    ) == {
        "title": "Appointment tomorrow",
        "body": "Your skin appointment is tomorrow.",
        "url": "/sessions/",
    }
    # Unreadable, and hostile, payloads still show a notification, pointing inside the app.
    assert shown_after("not json", "Aftercare") == {
        "title": "Aftercare",
        "body": "Open the app to see today.",
        "url": "/",
    }
    hostile = shown_after('{"title": "x", "body": "y", "url": "https://elsewhere.example/"}', "x")
    assert hostile["url"] == "/"


def test_a_notification_opens_only_a_page_of_this_app(live_server, phone_profile):
    """The worker's check, as the browser resolves addresses: a backslash counts as a slash."""
    open_controlled(phone_profile, live_server.url + "/")
    (worker,) = phone_profile.service_workers
    cases = {
        "/sessions/": "/sessions/",
        "/?from=reminder#today": "/?from=reminder#today",
        "//evil.example/": "/",
        "/\\evil.example/": "/",
        "/\\/evil.example/": "/",
        "https://evil.example/": "/",
        "javascript:alert(1)": "/",
        "": "/",
    }
    for raw, opened in cases.items():
        assert worker.evaluate("raw => pathInThisApp(raw)", raw) == opened, raw
    assert worker.evaluate("pathInThisApp(null)") == "/"


def test_each_planned_session_goes_into_a_calendar_as_a_file_or_a_google_calendar_event(
    live_server, phone_profile, tmp_path
):
    """Android has no handler for webcal:// or calendar files; iPhone opens .ics in Calendar."""
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(10))
    page.goto(live_server.url + "/sessions/")
    timed, all_day = today_here(-30), today_here(-70)
    add_session(page, timed, "14:30")
    add_session(page, all_day)
    rows = page.locator(".session")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).get_by_role("link", name="iPhone Calendar")).to_have_count(0)  # done

    london = ZoneInfo(TIME_ZONE)
    start = datetime.combine(date.fromisoformat(timed), time(14, 30), tzinfo=london)
    for row, number in ((rows.nth(1), 2), (rows.nth(2), 3)):
        with page.expect_download() as download:
            row.get_by_role("link", name=f"iPhone Calendar: session {number}").click()
        assert download.value.suggested_filename == f"session-{number}.ics"
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        (event,) = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
        assert str(event["SUMMARY"]) == "Skin appointment", "a neutral title, as the feed's"
        alarms = [str(alarm["TRIGGER"].to_ical(), "ascii") for alarm in event.walk("VALARM")]
        if number == 2:
            assert event.decoded("DTSTART") == start.astimezone(UTC)
            assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=1)
            assert alarms == ["-P1D", "-PT2H"]
        else:
            assert event.decoded("DTSTART") == date.fromisoformat(all_day)
            assert event.decoded("DTEND") == date.fromisoformat(all_day) + timedelta(days=1)
            assert alarms == ["-PT15H"]

    google = rows.nth(1).get_by_role("link", name="Google Calendar: session 2")
    address = urlsplit(google.get_attribute("href"))
    assert (address.scheme, address.netloc, address.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    query = parse_qs(address.query)
    utc = start.astimezone(UTC)
    assert query["action"] == ["TEMPLATE"] and query["text"] == ["Skin appointment"]
    assert query["dates"] == [f"{utc:%Y%m%dT%H%M%SZ}/{utc + timedelta(hours=1):%Y%m%dT%H%M%SZ}"]
    expect(page.get_by_text("On Android, tap “Google Calendar”")).to_be_visible()
    page.screenshot(path=str(tmp_path / "session-calendar-links.png"), full_page=True)


def test_a_reminder_form_with_no_time_says_so_beside_the_field(live_server, phone_profile):
    page = settings_of_a_registered_phone(phone_profile, live_server.url, days_ago=1)
    form = page.locator("[data-notify-form]")
    time_field = form.get_by_label("Remind me at")
    time_field.fill("")
    form.get_by_role("button", name="Turn on reminders").click()
    error = form.get_by_role("alert")
    expect(error).to_have_text("Enter the time for the daily reminder, or turn it off.")
    expect(time_field).to_be_focused()
    expect(time_field).to_have_attribute("aria-invalid", "true")
    expect(time_field).to_have_attribute("aria-describedby", error.get_attribute("id"))
    expect(error).to_be_in_viewport()
    # Nothing was asked of the browser: the form stopped before the permission prompt.
    assert page.evaluate("Notification.permission") == "default"


def test_a_daily_reminder_inside_quiet_hours_is_refused_beside_its_field(
    live_server, phone_profile
):
    """The server holds back what falls in quiet hours, and by then the day's reminder is out
    of date: such a time would never bring a reminder."""
    page = settings_of_a_registered_phone(phone_profile, live_server.url, days_ago=1)
    form = page.locator("[data-notify-form]")
    form.get_by_label("From").fill("18:00")
    form.get_by_label("Until").fill("08:00")
    time_field = form.get_by_label("Remind me at")
    time_field.fill("20:00")
    form.get_by_role("button", name="Turn on reminders").click()
    expect(form.get_by_role("alert")).to_have_text(
        "20:00 is inside your quiet hours (18:00 to 08:00), when nothing is sent. "
        "Pick a time outside them."
    )
    expect(time_field).to_be_focused()
    assert page.evaluate("Notification.permission") == "default"
