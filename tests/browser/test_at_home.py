"""Microneedling at home with one's own pen, in real Chromium against `make run`: onboarding
asks where first (no default), says nothing about a practitioner to someone at home, and the
plan's `setting` reaches IndexedDB, the server and a second device joined to the plan."""

from __future__ import annotations

import re

from helpers import launch_profile
from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from support import stored_plans
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here

PLAN = phone_js("return (await phone('plan', 'get', 'current')) || null;")
REGISTERED = phone_js("return (await phone('meta', 'get', 'registered')) === true;")
ASSESSED = "(as your practitioner assessed it)"
HOME_HINT = "(choose the closest; pick Not sure if you can't tell)"


def server_plan(server, plan_id: str) -> dict:
    """The plan as the server stored it, read from its data folder."""
    return stored_plans(server.data_dir).get_plan(plan_id)


def open_form(page, url: str):
    page.goto(url + "/")
    form = page.locator("[data-onboarding]")
    # Shown from the HTML before its script runs; the script enables the button.
    expect(form.get_by_role("button", name="Start my aftercare")).to_be_enabled()
    return form


def test_where_comes_first_with_no_default_and_a_missing_answer_is_shown_in_view(
    live_server, phone
):
    page = phone.new_page()
    form = open_form(page, live_server.url)
    where = form.get_by_role("group", name="Where do you have microneedling?")
    # The first question of the form, before the session date.
    assert (
        form.locator("fieldset, .field")
        .first.inner_text()
        .startswith("Where do you have microneedling?")
    )
    expect(where.get_by_role("radio")).to_have_count(2)
    expect(where.get_by_label("At a clinic")).not_to_be_checked()
    expect(where.get_by_label("At home, with my own device")).not_to_be_checked()
    # Neither hint before an answer: nothing about a practitioner for someone who may be at home.
    assert "practitioner" not in form.inner_text()

    button = form.get_by_role("button", name="Start my aftercare")
    button.scroll_into_view_if_needed()
    # The question and the message above it are off-screen when the button is tapped.
    expect(where).not_to_be_in_viewport()
    button.click()

    error = form.get_by_role("alert")
    expect(error).to_have_text(
        "Choose where you have microneedling: at a clinic, or at home with your own device."
    )
    # Beside the question, tied to its choices, with the focus on the first of them.
    expect(error).to_be_in_viewport()
    first_choice = where.get_by_label("At a clinic")
    expect(first_choice).to_be_focused()
    expect(first_choice).to_have_attribute("aria-invalid", "true")
    expect(first_choice).to_have_attribute("aria-describedby", error.get_attribute("id"))
    assert page.evaluate(PLAN) is None  # nothing saved
    where.get_by_label("At home, with my own device").check()
    expect(error).to_be_hidden()  # answered: the message goes


def test_at_home_changes_the_wording_and_the_setting_reaches_the_server(live_server, phone):
    page = phone.new_page()
    form = open_form(page, live_server.url)
    skin = form.get_by_role("group", name=re.compile(r"^Your skin type"))

    legend = skin.locator("legend")
    # innerText: what is drawn (the hints not meant for this answer are in the HTML, hidden).
    form.get_by_label("At a clinic").check()
    expect(legend).to_contain_text(ASSESSED, use_inner_text=True)
    expect(legend).not_to_contain_text(HOME_HINT, use_inner_text=True)
    form.get_by_label("At home, with my own device").check()
    expect(legend).not_to_contain_text("practitioner", use_inner_text=True)
    expect(legend).to_contain_text(HOME_HINT, use_inner_text=True)
    expect(form.get_by_text(ASSESSED)).to_be_hidden()
    expect(skin).to_have_accessible_name(f"Your skin type {HOME_HINT}")
    assert "practitioner" not in form.inner_text()
    # "Not sure" stays a choice, and stays the answer unless another is picked.
    expect(skin.get_by_role("radio", name=re.compile(r"^Not sure"))).to_be_checked()
    expect(form.get_by_label("Which session was it?")).to_be_visible()

    form.get_by_label("Date of your most recent session").fill(today_here(2))
    form.get_by_role("button", name="Start my aftercare").click()
    page.locator("[data-checklist] input[type=checkbox]").first.wait_for()

    plan = page.evaluate(PLAN)
    assert plan["setting"] == "home"
    wait_for_async(page, REGISTERED)
    assert server_plan(live_server, plan["planId"])["setting"] == "home"


def test_a_device_joined_to_a_home_plan_gets_its_setting(own_server, profile, playwright, tmp_path):
    first = open_controlled(profile, own_server.url + "/")
    onboard(first, today_here(1), setting="home")
    plan_id = first.evaluate(PLAN)["planId"]
    wait_for_async(first, REGISTERED)
    first.goto(own_server.url + "/settings/")
    first.locator("[data-devices-ready]").wait_for(timeout=10_000)
    first.get_by_role("button", name="Show a link").click()
    link = first.locator("[data-device-link]")
    expect(link).to_have_attribute("href", re.compile(r"^http"))

    second_profile = launch_profile(playwright, tmp_path / "second", timezone_id=TIME_ZONE)
    try:
        second = second_profile.new_page()
        second.goto(link.get_attribute("href"))
        second.get_by_role("button", name="Add this device").click()
        second.wait_for_url(own_server.url + "/")
        second.locator("[data-checklist] input[type=checkbox]").first.wait_for()
        joined = second.evaluate(PLAN)
        assert joined["planId"] == plan_id and joined["setting"] == "home"
    finally:
        second_profile.close()
    assert server_plan(own_server, plan_id)["setting"] == "home"
