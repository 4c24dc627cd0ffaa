"""Today's first paint: the day drawn from the phone's snapshot by the inline script
(static/js/today-first-paint.js) while the page is parsed, before any module has loaded,
and a tap made on that drawing kept once Today's module takes over."""

from __future__ import annotations

import pytest
from helpers import HeldRequests
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from test_checklist import onboard
from test_checklist import today_here

BOXES = "[data-checklist=today] input[type=checkbox]"
TICK = phone_js("return (await phone('ticks', 'get', arg)) || null;")
OUTBOX_ITEMS = phone_js("return (await phone('outbox', 'getAll')).map((event) => event.item);")


@pytest.fixture
def phone_without_worker(browser):
    """A phone whose pages all come from the network, so the test can hold back the
    modules (a service worker would serve them past the test's routes)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        service_workers="block",
    )
    yield context
    context.close()


def test_the_day_is_drawn_before_any_module_and_an_early_tap_is_kept(
    live_server, phone_without_worker
):
    page = phone_without_worker.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(1))
    page.locator(f"{BOXES}[data-item-id='hands-off']").check()
    wait_for_async(page, f"async () => (await ({TICK})([{today_here()!r}, 'hands-off']))")
    page.close()

    page = phone_without_worker.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    modules = HeldRequests(page, "**/static/build/**")
    with page.expect_request("**/static/build/**"):
        page.goto(live_server.url + "/", wait_until="commit")
    # Drawn from the snapshot with every module still held back (the CSP allows the
    # inline script by its hash: a refusal would be a console error).
    hands_off = page.locator(f"{BOXES}[data-item-id='hands-off']")
    expect(hands_off).to_be_visible()
    expect(hands_off).to_be_checked()
    assert page.evaluate("document.documentElement.dataset.firstPaint") == "snapshot"
    expect(page.locator("[data-onboarding]")).to_be_hidden()
    expect(page.locator("[data-progress-text]")).to_contain_text("1 of")

    # A tap before Today's module has run: shown at once, kept once the module takes over.
    early = page.locator(f"{BOXES}:not([data-item-id='hands-off'])").first
    item = early.get_attribute("data-item-id")
    early.check()
    expect(page.locator("[data-progress-text]")).to_contain_text("2 of")
    assert page.evaluate(OUTBOX_ITEMS).count(item) == 0, "nothing is kept before the module runs"
    modules.release()
    stored = wait_for_async(page, f"async () => (await ({TICK})([{today_here()!r}, {item!r}]))")
    assert stored["done"] is True
    assert item in page.evaluate(OUTBOX_ITEMS)
    expect(page.locator(f"{BOXES}[data-item-id='{item}']")).to_be_checked()
    assert problems == []

    page.reload()
    expect(page.locator(f"{BOXES}[data-item-id='{item}']")).to_be_checked()
    expect(page.locator("[data-progress-text]")).to_contain_text("2 of")


def test_no_snapshot_no_first_paint(live_server, phone_without_worker):
    """A first visit has no snapshot: the form shows, and the first-paint script draws nothing."""
    page = phone_without_worker.new_page()
    page.goto(live_server.url + "/")
    expect(page.locator("[data-onboarding]")).to_be_visible()
    assert page.evaluate("document.documentElement.dataset.firstPaint") is None
    expect(page.locator("[data-today]")).to_be_hidden()
