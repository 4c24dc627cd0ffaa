"""The clinic hand-off in real Chromium: a practitioner makes a plan, a client's phone takes it."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from datetime import timedelta

import pytest
from helpers import PRACTITIONER_EMAIL as EMAIL
from helpers import PRACTITIONER_PASSWORD as PASSWORD
from helpers import axe_violations
from helpers import launch_profile
from helpers import new_client_plan
from helpers import open_controlled
from playwright.sync_api import expect
from test_checklist import TIME_ZONE
from test_checklist import today_here

ZBARIMG = shutil.which("zbarimg")


@pytest.fixture
def client_phone(playwright, tmp_path):
    context = launch_profile(playwright, tmp_path / "phone", timezone_id=TIME_ZONE)
    yield context
    context.close()


def test_practitioner_hands_a_plan_to_a_client_phone_by_qr_code(
    clinic_server, desk, client_phone, tmp_path
):
    console = desk.new_page()
    console.goto(clinic_server.url + "/console/")
    expect(console).to_have_url(f"{clinic_server.url}/console/login?next=/console/")
    console.get_by_label("E-mail").fill(EMAIL)
    console.get_by_label("Password").fill(PASSWORD)
    console.get_by_label("Password").press("Enter")  # submit on Enter
    expect(console.get_by_role("heading", name="My clients")).to_be_visible()
    assert not axe_violations(console)

    console.get_by_role("link", name="New client plan").click()
    session_day = today_here(2)
    next_day = (date.fromisoformat(session_day) + timedelta(days=35)).isoformat()
    console.get_by_label("Nickname").fill("Jo B.")
    console.get_by_label("Date of this session").fill(session_day)
    console.get_by_label("Next session").fill(next_day)
    console.get_by_label("Skin type (Fitzpatrick)").select_option("V")
    console.get_by_role("button", name="Create plan and invitation").click()
    link = console.locator("[data-invitation-link]").get_attribute("href")
    assert link.startswith(clinic_server.url + "/settings/invite#")
    assert not axe_violations(console)

    if ZBARIMG:  # installed by `make test`; the sync tests fail loudly without it
        picture = tmp_path / "invitation.png"
        console.get_by_role("img", name="QR code of the invitation link below").screenshot(
            path=picture
        )
        decoded = subprocess.run(
            [ZBARIMG, "--raw", "-q", str(picture)], capture_output=True, text=True, timeout=30
        )
        assert decoded.stdout.strip() == link

    phone = open_controlled(client_phone, clinic_server.url + "/")
    phone.goto(link)
    expect(phone.get_by_role("heading", name="From Harbour Skin Clinic")).to_be_visible()
    start = phone.get_by_role("button", name="Start")
    expect(start).to_be_enabled()  # once the page's script has checked the invitation
    assert "#" not in phone.url, "the code leaves the address bar"
    start.click()
    expect(phone.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    contact = phone.locator("[data-clinic-contact]")
    expect(
        contact.get_by_role("link", name="Call Harbour Skin Clinic: +44 20 7946 0000")
    ).to_be_visible()
    expect(contact.get_by_role("link", name="WhatsApp Harbour Skin Clinic")).to_have_attribute(
        "href", "https://wa.me/447700900123"
    )
    expect(contact.get_by_role("link", name="Book or change an appointment")).to_be_visible()

    # The console sees the phone; the invitation cannot be used again.
    console.goto(clinic_server.url + "/console/")
    expect(console.locator("tr[data-client]")).to_contain_text("Jo B.")
    expect(console.locator("tr[data-client]")).not_to_contain_text("Not linked yet")

    clinic_server.stop()  # offline from here: the plan is on the phone
    phone.reload()
    expect(phone.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    phone.goto(clinic_server.url + "/sessions/")
    expect(phone.locator(".session")).to_have_count(2)
    expect(phone.locator(".session").nth(1)).to_contain_text("Planned")
    expect(phone.locator("[data-clinic-contact]")).to_have_count(0)  # not on this page
    phone.goto(clinic_server.url + "/")
    expect(phone.locator("[data-clinic-contact]")).to_be_visible()


def test_a_used_invitation_says_so_before_the_tap(clinic_server, desk, client_phone):
    link = new_client_plan(desk, clinic_server.url, "Sam", today_here(0))

    first = client_phone.new_page()
    first.goto(link)
    first.get_by_role("button", name="Start").click()
    expect(first.locator("[data-day-heading]")).to_have_text("Day 0 after session 1")

    second = desk.new_page()  # another browser opening the same link
    second.goto(link)
    expect(second.locator("[data-join-error]")).to_contain_text("expired or was already used")
    expect(second.get_by_role("button", name="Start")).to_be_hidden()


def log_in_on(context, server_url, password=PASSWORD):
    page = context.new_page()
    page.goto(server_url + "/console/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    return page


def test_a_practitioner_changes_her_password_and_other_browsers_are_signed_out(
    clinic_server, desk, browser, tmp_path
):
    elsewhere = browser.new_context()
    other = log_in_on(elsewhere, clinic_server.url)
    expect(other.get_by_role("heading", name="My clients")).to_be_visible()

    console = log_in_on(desk, clinic_server.url)
    console.get_by_role("link", name="Password").click()
    expect(console.get_by_role("heading", name="Change your password")).to_be_visible()
    assert axe_violations(console) == []
    new = "quiet lantern over the meadow"
    console.get_by_label("Current password").fill(PASSWORD)
    console.get_by_label("New password", exact=True).fill("password1234")
    console.get_by_label("New password again").fill("password1234")
    console.get_by_role("button", name="Change password").click()
    expect(console.get_by_role("alert")).to_contain_text("Too easy to guess")
    console.get_by_label("Current password").fill(PASSWORD)
    console.get_by_label("New password", exact=True).fill(new)
    console.get_by_label("New password again").fill(new)
    console.get_by_role("button", name="Change password").click()
    expect(console.get_by_role("status")).to_contain_text("Your password is changed")
    console.screenshot(path=str(tmp_path / "password-changed.png"), full_page=True)

    other.goto(clinic_server.url + "/console/")
    expect(other).to_have_url(f"{clinic_server.url}/console/login?next=/console/")
    again = log_in_on(elsewhere, clinic_server.url, new)
    expect(again.get_by_role("heading", name="My clients")).to_be_visible()
    elsewhere.close()
