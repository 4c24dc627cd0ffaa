"""Every page in real Chromium at phone size: layout, accessibility, and no other origins."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from helpers import axe_violations
from playwright.sync_api import expect
from test_served_html import PHONE_PAGES

# Every page of the phone's, as tests/test_served_html.py checks them served.
PAGES = PHONE_PAGES
HORIZONTAL_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def open_page(context, url):
    """Open `url`, recording every request and console error along the way."""
    page = context.new_page()
    page.requests = []
    page.errors = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    response = page.goto(url, wait_until="load")
    assert response.status == 200, url
    return page


@pytest.mark.parametrize("path", PAGES)
def test_page_fits_a_phone_without_sideways_scrolling(live_server, phone, path):
    page = open_page(phone, live_server.url + path)
    assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0
    assert page.locator("h1").first.is_visible()
    assert page.errors == [], "no console errors, CSP violations included"


@pytest.mark.parametrize("path", PAGES)
def test_page_reflows_at_200_percent_zoom(live_server, browser, path):
    # 200 % zoom on a 390 px phone leaves 195 CSS pixels of width.
    context = browser.new_context(viewport={"width": 195, "height": 422})
    try:
        page = open_page(context, live_server.url + path)
        assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0
        nav = page.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Learn").is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_accessibility_violations(live_server, browser, path, scheme):
    # The app's CSP forbids injected scripts, so this context bypasses it for axe alone.
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme=scheme, bypass_csp=True
    )
    try:
        page = open_page(context, live_server.url + path)
        assert axe_violations(page) == []
    finally:
        context.close()


def test_pages_request_nothing_from_other_origins(live_server, phone):
    for path in PAGES:
        page = open_page(phone, live_server.url + path)
        origins = {urlsplit(url).netloc for url in page.requests if not url.startswith("data:")}
        assert origins == {urlsplit(live_server.url).netloc}, path
        page.close()


def test_navigation_targets_are_at_least_44_px(live_server, phone):
    page = open_page(phone, live_server.url + "/")
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert [links.nth(i).inner_text().strip() for i in range(links.count())] == [
        "Today",
        "Sessions",
        "Learn",
        "Settings",
    ]
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44


def test_tapping_through_the_tabs_reaches_each_area(live_server, phone):
    page = open_page(phone, live_server.url + "/")
    for label, heading in [("Learn", "Learn"), ("Sessions", "Sessions"), ("Settings", "Settings")]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).tap()
        # Waits for the new page's heading: the old page is loaded already, so waiting for a
        # load state could return before the tap's navigation had begun.
        expect(page.locator("h1")).to_have_text(heading)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").tap()
    # A first visit draws the onboarding form, which moves the rest of the page down.
    page.locator("[data-onboarding]").wait_for()
    page.get_by_role("link", name="When to get help").first.tap()
    expect(page.locator("h1")).to_have_text("When to get help")
    assert page.get_by_text("not yet reviewed by a clinician").is_visible()


def test_the_last_line_of_a_page_is_not_hidden_by_the_tab_bar(live_server, phone):
    page = open_page(phone, live_server.url + "/learn/who-is-at-risk")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    footer = page.locator(".app-footer").bounding_box()
    bar = page.locator(".tab-bar").bounding_box()
    assert footer["y"] + footer["height"] <= bar["y"] + 1


@pytest.mark.parametrize("javascript", [True, False])
def test_warning_signs_show_with_and_without_javascript(live_server, browser, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(live_server.url + "/")
    # With the script they appear with the form above them (no layout shift); without it,
    # the noscript stylesheet shows them straight away.
    expect(page.locator("#warning-signs")).to_be_visible()
    expect(page.get_by_role("heading", name="Learn more")).to_be_visible()
    context.close()
