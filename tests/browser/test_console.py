"""The clinic hand-off in real Chromium: a practitioner makes a plan, a client's phone takes it."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from datetime import timedelta

from helpers import PRACTITIONER_EMAIL as EMAIL
from helpers import PRACTITIONER_PASSWORD as PASSWORD
from helpers import accept_invitation
from helpers import axe_violations
from helpers import launch_profile
from helpers import new_client_plan
from helpers import open_controlled
from playwright.sync_api import expect
from test_checklist import TIME_ZONE
from test_checklist import today_here

ZBARIMG = shutil.which("zbarimg")


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


ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def both_sizes(page, folder, name: str) -> None:
    """Screenshots of what the page shows at a laptop's size and at a phone's."""
    for size, label in ((LAPTOP, "1280x800"), (PHONE, "390x844")):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{label}.png"))
    page.set_viewport_size(LAPTOP)


def test_a_reloaded_invitation_makes_one_plan_and_a_phone_is_removed_after_asking(
    clinic_server, desk, playwright, tmp_path
):
    console = log_in_on(desk, clinic_server.url)
    console.set_viewport_size(LAPTOP)
    console.get_by_role("link", name="New client plan").click()
    console.get_by_label("Nickname").fill("Bea")
    console.get_by_label("Date of this session").fill(today_here(2))
    console.get_by_role("button", name="Create plan and invitation").click()
    expect(console.get_by_role("status")).to_have_text(
        "Plan made for Bea. Let them scan the invitation below."
    )
    link = console.locator("[data-invitation-link]").get_attribute("href")
    invitation_url = console.url
    assert invitation_url.endswith("/invitation") and "#" not in invitation_url
    both_sizes(console, tmp_path, "invitation")
    assert not axe_violations(console)

    # A reload asks for the page again (a GET): the same invitation, no second plan.
    console.reload()
    expect(console.get_by_role("heading", name="Invitation for Bea")).to_be_visible()
    expect(console.locator("[data-invitation-link]")).to_have_attribute("href", link)
    expect(console.get_by_role("status")).to_have_count(0)  # the confirmation was said once
    console.get_by_role("link", name="My clients").click()
    expect(console.locator("tr[data-client]")).to_have_count(1)
    expect(console.locator("tr[data-client]")).to_contain_text("Bea")

    phone_context = launch_profile(
        playwright, tmp_path / "android", timezone_id=TIME_ZONE, user_agent=ANDROID_CHROME
    )
    try:
        phone = accept_invitation(phone_context, clinic_server.url, link)
        expect(phone.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    finally:
        phone_context.close()

    console.get_by_role("link", name="Bea").click()
    phones = console.locator("[data-device]")
    expect(phones).to_have_count(1)
    expect(phones).to_contain_text("Chrome Mobile on Android · linked today")
    expect(phones).not_to_contain_text("UTC")
    phones.scroll_into_view_if_needed()
    both_sizes(console, tmp_path, "client-phones")

    # Removing asks first; Cancel leaves the phone as it was.
    remove = console.get_by_role("link", name="Remove this phone")
    remove.click()
    expect(
        console.get_by_role("heading", name="Remove this phone from Bea’s plan?")
    ).to_be_visible()
    expect(console.locator("[data-phone-name]")).to_have_text("Chrome Mobile on Android")
    both_sizes(console, tmp_path, "remove-phone")
    assert not axe_violations(console)
    console.get_by_role("link", name="Cancel").click()
    expect(phones).not_to_contain_text("Removed")
    remove.click()
    console.get_by_role("button", name="Remove this phone").click()
    expect(console.get_by_role("status")).to_contain_text(
        "Removed Chrome Mobile on Android (linked today"
    )
    expect(phones).to_contain_text("Removed")
    expect(console.get_by_role("link", name="Remove this phone")).to_have_count(0)
    console.screenshot(path=str(tmp_path / "phone-removed.png"), full_page=True)


def test_a_refused_form_puts_its_error_on_screen_and_the_focus_on_the_field(
    clinic_server, desk, tmp_path
):
    console = log_in_on(desk, clinic_server.url)
    console.set_viewport_size(PHONE)
    console.get_by_role("link", name="New client plan").click()
    console.get_by_label("Nickname").fill("Cy")
    console.get_by_label("Date of this session").fill(today_here(2))
    console.get_by_label("Next session").fill(today_here(5))  # before this session
    console.get_by_role("button", name="Create plan and invitation").click()

    field = console.get_by_label("Next session")
    message = console.locator("#next-session-error")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "next-session-error")
    expect(message).to_have_text("Next session: must come after the latest session")
    expect(message).to_be_in_viewport()
    expect(field).to_have_accessible_description("Next session: must come after the latest session")
    console.screenshot(path=str(tmp_path / "new-client-refused-390x844.png"))
    assert not axe_violations(console)

    # The fixed form goes through; on the client page a refused session edit and a refused
    # delete do the same.
    console.get_by_label("Next session").fill(today_here(-30))
    console.get_by_role("button", name="Create plan and invitation").click()
    console.get_by_role("link", name="Client page").click()
    first = console.locator("[data-session]").first
    first.get_by_label("Date").fill("2001-01-01")
    first.get_by_role("button", name="Save session 1").click()
    date_field = console.locator("[data-session]").first.get_by_label("Date")
    expect(date_field).to_be_focused()
    expect(date_field).to_have_value("2001-01-01")
    expect(console.locator("[data-form-error]")).to_have_text(
        "Date: must be within 3 years before and 2 years after today"
    )
    expect(console.locator("[data-form-error]")).to_be_in_viewport()
    console.screenshot(path=str(tmp_path / "session-refused-390x844.png"))
    console.set_viewport_size(LAPTOP)
    console.get_by_label("Type “Cy” to confirm").fill("cy")
    console.get_by_role("button", name="Delete plan").click()
    confirm = console.get_by_label("Type “Cy” to confirm")
    expect(confirm).to_be_focused()
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(console.locator("#confirm-error")).to_be_in_viewport()
    expect(console.locator("#confirm-error")).to_contain_text("Type the client's nickname exactly")
    console.screenshot(path=str(tmp_path / "delete-refused-1280x800.png"))
