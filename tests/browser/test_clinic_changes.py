"""The clinic changes a session in the console: the client's phone says so once, in words."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from helpers import PRACTITIONER_EMAIL  # noqa: I001
from helpers import PRACTITIONER_PASSWORD  # noqa: I001
from helpers import accept_invitation
from helpers import as_today_writes
from helpers import new_client_plan
from playwright.sync_api import expect
from test_checklist import today_here
from test_sync import POKE_SYNC


def test_a_session_the_clinic_moves_is_announced_once_on_the_phone(
    clinic_server, desk, client_phone, tmp_path
):
    session_day = today_here(2)
    booked = (date.fromisoformat(session_day) + timedelta(days=35)).isoformat()
    link = new_client_plan(desk, clinic_server.url, "Jo B.", session_day, booked)
    phone = accept_invitation(client_phone, clinic_server.url, link)
    expect(phone.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    notices = phone.locator("[data-clinic-notices]")
    expect(notices).to_be_hidden()  # the clinic's first plan is not news
    expect(phone.locator("[data-sync-status]")).to_have_text("Synced just now", timeout=15_000)

    console = desk.new_page()
    console.goto(clinic_server.url + "/console/")
    if "/console/login" in console.url:
        console.get_by_label("E-mail").fill(PRACTITIONER_EMAIL)
        console.get_by_label("Password").fill(PRACTITIONER_PASSWORD)
        console.get_by_role("button", name="Log in").click()
    console.get_by_role("link", name="Jo B.").click()
    moved = (date.fromisoformat(booked) + timedelta(days=3)).isoformat()
    form = console.locator("form").filter(has=console.get_by_role("button", name="Save session 2"))
    form.get_by_label("Date").fill(moved)
    form.get_by_role("button", name="Save session 2").click()
    # Saved: the client's page, drawn again, holds the new date.
    expect(form.get_by_label("Date")).to_have_value(moved)

    phone.evaluate(POKE_SYNC)
    said = f"Your clinic moved session 2 to {as_today_writes(date.fromisoformat(moved))}."
    expect(notices).to_contain_text(said, timeout=15_000)
    expect(notices).to_have_attribute("role", "status")
    phone.screenshot(path=str(tmp_path / "clinic-moved.png"))
    # Said once: on Sessions (and on Today again) it is not repeated.
    phone.goto(clinic_server.url + "/sessions/")
    expect(phone.locator(".session").nth(1)).to_contain_text(
        as_today_writes(date.fromisoformat(moved))
    )
    expect(phone.locator("[data-clinic-notices]")).to_be_hidden()
    phone.goto(clinic_server.url + "/")
    expect(phone.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    expect(phone.locator("[data-clinic-notices]")).to_be_hidden()
