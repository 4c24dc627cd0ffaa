"""Reminders in real Chromium: the calendar link in Settings, and the worker's push handler."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from helpers import launch_profile
from helpers import open_controlled
from helpers import wait_for_async
from icalendar import Calendar
from playwright.sync_api import expect
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here

REGISTERED = """async () => {
  const {getMeta} = await import('/static/js/lib/store.js');
  return Boolean(await getMeta('registered'));
}"""
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


def test_calendar_link_in_settings_subscribes_and_resets(live_server, phone_profile):
    page = open_controlled(phone_profile, live_server.url + "/")
    onboard(page, today_here(3))
    wait_for_async(page, REGISTERED)
    page.goto(live_server.url + "/settings/")
    box = page.locator("[data-calendar]")
    box.get_by_role("button", name="Get calendar link").click()
    feed = box.locator("a[data-calendar-feed]")
    expect(feed).to_have_attribute("href", re.compile(r"^http://.*calendar\.ics\?plan="))
    first = feed.get_attribute("href")
    assert first.startswith(live_server.url + "/sessions/calendar.ics?plan=")
    subscribe = box.get_by_role("link", name="Subscribe in your calendar app")
    assert subscribe.get_attribute("href") == "webcal://" + first.split("://", 1)[1]

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
    cdp.send("ServiceWorker.enable")
    registration_id = None

    def remember(event):
        nonlocal registration_id
        for version in event["versions"]:
            if version["status"] == "activated":
                registration_id = version["registrationId"]

    cdp.on("ServiceWorker.workerVersionUpdated", remember)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_timeout(200)
    assert registration_id is not None

    def push(data: str):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server.url, "registrationId": registration_id, "data": data},
        )

    def shown_after(data: str, title: str) -> dict:
        """Push `data` and return the notification it showed (found by its title)."""
        push(data)
        # Headless Chromium may drop a shown notification again, so look right away.
        return wait_for_async(
            page, f"async (t) => (await ({NOTIFICATIONS})()).find((n) => n.title === t)", title
        )

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
