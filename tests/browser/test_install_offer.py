"""The install offer: Chromium's prompt behind our button, iOS steps, and nothing when installed."""

from __future__ import annotations

import pytest
from helpers import axe_violations
from helpers import launch_profile
from helpers import open_controlled

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def test_install_button_appears_when_chromium_offers_installation(own_server, profile):
    page = open_controlled(profile, own_server.url + "/settings/")
    page.reload()  # beforeinstallprompt fires once the page is controlled and installable
    page.get_by_role("button", name="Install app").wait_for(timeout=15_000)

    page.goto(own_server.url + "/")
    today_offer = page.locator("[data-install-offer]")
    today_offer.wait_for(timeout=15_000)
    today_offer.get_by_role("button", name="Not now").click()
    assert today_offer.is_hidden()

    # "Not now" on Today is remembered; Settings keeps offering it.
    page.reload()
    page.wait_for_timeout(1500)
    assert page.locator("[data-install-offer]").is_hidden()
    page.goto(own_server.url + "/settings/")
    page.get_by_role("button", name="Install app").wait_for(timeout=15_000)


def test_without_an_install_prompt_no_button_shows(live_server, browser):
    # An incognito-like context never gets beforeinstallprompt.
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.url + "/settings/")
        page.wait_for_timeout(1500)
        # The button is in the page (precached HTML is the same for all), but hidden.
        assert page.locator("[data-install-button]").count() == 1
        assert page.locator("[data-install-button]").is_hidden()
    finally:
        context.close()


def test_ios_safari_gets_add_to_home_screen_steps(live_server, browser):
    context = browser.new_context(user_agent=IPHONE_SAFARI, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/settings/")
        steps = page.locator("[data-ios-install]")
        steps.wait_for()
        assert "Add to Home Screen" in steps.inner_text()
        assert "for a week" in steps.inner_text()
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
        page.wait_for_timeout(1000)
        assert page.locator("[data-ios-install]").first.is_hidden()
        assert page.locator("[data-install-offer]").first.is_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_install_card_and_toasts_pass_axe(own_server, playwright, tmp_path, scheme):
    context = launch_profile(
        playwright, tmp_path / "axe-profile", color_scheme=scheme, bypass_csp=True
    )
    try:
        page = context.new_page()
        page.goto(own_server.url + "/")
        page.get_by_text("Ready to work offline").wait_for()
        page.locator("[data-install-offer]").wait_for(timeout=15_000)
        assert axe_violations(page) == []
    finally:
        context.close()
