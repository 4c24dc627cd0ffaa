"""The install offer: Chromium's prompt behind our button, iOS steps, and nothing when installed.

On Today it is one line under the day card once something is ticked; on Settings, a card.
What the page decided is on <html data-install> (components/install.js): the tests wait
for it instead of waiting a while and looking.
"""

from __future__ import annotations

import pytest
from helpers import axe_violations
from helpers import launch_profile
from helpers import open_controlled
from playwright.sync_api import expect
from test_checklist import onboard
from test_checklist import today_here

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
DECIDED = "html[data-install='{}']"


def tick_first_box(page):
    page.locator("[data-checklist=today] input[type=checkbox]").first.check()


def test_install_line_appears_under_the_day_card_after_the_first_tick(own_server, profile):
    page = open_controlled(profile, own_server.url + "/settings/")
    page.reload()  # beforeinstallprompt fires once the page is controlled and installable
    page.get_by_role("button", name="Install app").wait_for(timeout=15_000)

    page.goto(own_server.url + "/")
    onboard(page, today_here(1))
    page.locator(DECIDED.format("offered")).wait_for(timeout=15_000)
    line = page.locator("[data-install-line]")
    expect(line).to_be_hidden()  # nothing ticked yet: nothing to keep
    tick_first_box(page)
    expect(line).to_be_visible()
    expect(line.get_by_role("button", name="Install app")).to_be_visible()
    # It is in the day card, on the first screen.
    expect(line).to_be_in_viewport()
    assert page.locator(".day-card [data-install-line]").count() == 1

    line.get_by_role("button", name="Not now").click()
    expect(line).to_be_hidden()
    # "Not now" on Today is remembered; Settings keeps offering it.
    page.reload()
    page.locator(DECIDED.format("dismissed")).wait_for(timeout=15_000)
    expect(page.locator("[data-install-line]")).to_be_hidden()
    page.goto(own_server.url + "/settings/")
    page.get_by_role("button", name="Install app").wait_for(timeout=15_000)


def test_without_an_install_prompt_no_button_shows(live_server, browser):
    # An incognito-like context never gets beforeinstallprompt.
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.url + "/settings/")
        page.locator(DECIDED.format("waiting")).wait_for()
        # The button is in the page (precached HTML is the same for all), but hidden.
        expect(page.locator("[data-install-button]")).to_have_count(1)
        expect(page.locator("[data-install-button]")).to_be_hidden()
    finally:
        context.close()


def test_ios_safari_gets_add_to_home_screen_steps(live_server, browser):
    context = browser.new_context(user_agent=IPHONE_SAFARI, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/settings/")
        steps = page.locator("[data-ios-install]")
        expect(steps).to_contain_text("Add to Home Screen")
        expect(steps).to_contain_text("for a week")
        # On Today, the same advice in one line once something is ticked.
        page.goto(live_server.url + "/")
        onboard(page, today_here(2))
        tick_first_box(page)
        line = page.locator("[data-install-line]")
        expect(line).to_contain_text("Add to Home Screen")
        expect(line).to_contain_text("for a week")
        expect(line).to_be_in_viewport()
    finally:
        context.close()


def test_nothing_is_offered_when_running_installed(live_server, browser):
    context = browser.new_context(user_agent=IPHONE_SAFARI, is_mobile=True, has_touch=True)
    try:
        # Chromium cannot emulate display-mode; iOS home-screen apps also say
        # so through navigator.standalone, which Chromium lacks: give it one.
        context.add_init_script("Object.defineProperty(navigator, 'standalone', {value: true})")
        page = context.new_page()
        page.goto(live_server.url + "/settings/")
        page.locator(DECIDED.format("installed")).wait_for()
        expect(page.locator("[data-ios-install]")).to_be_hidden()
        expect(page.locator("[data-install-offer]")).to_be_hidden()
        page.goto(live_server.url + "/")
        onboard(page, today_here(2))
        tick_first_box(page)
        page.locator(DECIDED.format("installed")).wait_for()
        expect(page.locator("[data-install-line]")).to_be_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_install_line_and_toasts_pass_axe(own_server, playwright, tmp_path, scheme):
    context = launch_profile(
        playwright, tmp_path / "axe-profile", color_scheme=scheme, bypass_csp=True
    )
    try:
        page = context.new_page()
        page.goto(own_server.url + "/")
        page.get_by_text("Ready to work offline").wait_for()
        onboard(page, today_here(1))
        tick_first_box(page)
        expect(page.locator("[data-install-line]")).to_be_visible(timeout=15_000)
        page.screenshot(path=str(tmp_path / f"install-line-{scheme}.png"))
        assert axe_violations(page) == []
    finally:
        context.close()
