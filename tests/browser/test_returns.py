"""Friendly returns: back after Start, or the same invitation opened again on the phone that
already holds its plan, says so and offers Today; it never says the link is broken or used."""

from __future__ import annotations

from helpers import axe_violations
from helpers import new_client_plan
from playwright.sync_api import expect
from test_checklist import today_here


def test_back_and_reopening_the_invitation_lead_to_today(
    clinic_server, desk, checked_phone, tmp_path
):
    link = new_client_plan(desk, clinic_server.url, "Cy", today_here(1))
    page = checked_phone.new_page()
    page.goto(clinic_server.url + "/learn/")  # something to go back past
    page.goto(link)
    page.get_by_role("button", name="Start").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 1 after session 1")

    page.go_back()  # the invitation page, its code already out of the address bar
    already = page.locator("[data-join-already]")
    expect(already).to_contain_text("Your aftercare plan is on this phone.")
    expect(page.locator("[data-join-error]")).to_be_hidden()
    expect(page.get_by_role("button", name="Start")).to_be_hidden()

    page.goto(clinic_server.url + "/")
    page.goto(link)  # the same invitation again, e.g. from the clinic's message
    expect(already).to_contain_text("This plan is already on this phone.")
    expect(page.locator("[data-join-error]")).to_be_hidden()
    page.screenshot(path=tmp_path / "already-here.png")
    assert not axe_violations(page)
    already.get_by_role("link", name="Open Today").click()
    expect(page.locator("[data-day-heading]")).to_have_text("Day 1 after session 1")

    # Another clinic plan on the same phone still asks before replacing.
    other = new_client_plan(desk, clinic_server.url, "Cy again", today_here(0))
    page.goto(other)
    expect(page.get_by_role("button", name="Replace my plan and add this device")).to_be_enabled()
    expect(already).to_be_hidden()
