"""The day-by-day checklist in real Chromium: day numbers, onboarding and ticks, offline."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import HeldRequests
from helpers import as_today_writes
from helpers import axe_violations
from helpers import launch_profile
from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect

from pwa.care.days import local_day

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "day_numbers.json").read_text())
TIME_ZONE = "Europe/London"
RUN_VECTORS = """async (cases) => {
  const days = await import('/static/js/lib/days.js');
  return cases.map((c) => ({
    name: c.name,
    local_day: days.localDay(new Date(c.now), c.tz, c.start),
    day: days.dayNumber(c.session, new Date(c.now), c.tz, c.start),
  }));
}"""
OUTBOX = phone_js("return phone('outbox', 'getAll');")


def today_here(days_ago: int = 0) -> str:
    return (local_day(datetime.now(UTC), TIME_ZONE) - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def phone_profile(playwright, tmp_path):
    context = launch_profile(playwright, tmp_path / "phone", timezone_id=TIME_ZONE)
    yield context
    context.close()


def onboard(
    page,
    last_session: str,
    skin_type: str = "not-sure",
    history: str = "not-sure",
    setting: str = "clinic",
):
    form = page.locator("[data-onboarding]")
    form.wait_for()
    # Shown from the HTML before its script runs; the script enables the button.
    expect(form.get_by_role("button", name="Start my aftercare")).to_be_enabled()
    form.locator(f"input[name=setting][value='{setting}']").check()
    form.get_by_label("Date of your most recent session").fill(last_session)
    form.locator(f"input[name=skin_type][value='{skin_type}']").check()
    form.locator(f"input[name=pih_history][value='{history}']").check()
    form.get_by_role("button", name="Start my aftercare").click()
    page.locator("[data-checklist] input[type=checkbox]").first.wait_for()


def test_day_number_vectors_in_the_browser(live_server, phone):
    page = phone.new_page()
    page.goto(live_server.url + "/learn/")
    results = page.evaluate(RUN_VECTORS, VECTORS["cases"])
    expected = [{k: c[k] for k in ("name", "local_day", "day")} for c in VECTORS["cases"]]
    assert results == expected


def test_onboarding_and_ticks_work_offline_and_survive_a_reload(own_server, phone_profile):
    page = open_controlled(phone_profile, own_server.url + "/")
    own_server.stop()  # no network from here on
    page.reload()
    first_date = page.locator("[data-onboarding] input[type=date]").first
    first_date.wait_for()
    assert first_date.get_attribute("name") == "last_session"
    # The form is in the HTML; its script sets the date and enables the button.
    expect(first_date).to_have_value(today_here())
    expect(page.get_by_role("button", name="Start my aftercare")).to_be_enabled()

    onboard(page, today_here())
    assert page.locator("[data-day-heading]").inner_text() == "Day 0 after session 1"
    boxes = page.locator("[data-checklist] input[type=checkbox]")
    item_ids = [boxes.nth(i).get_attribute("data-item-id") for i in range(boxes.count())]
    assert "hands-off" in item_ids and "mineral-spf" not in item_ids  # day 0: no SPF yet
    page.locator("[data-item-id='hands-off']").check()
    page.locator("[data-item-id='no-alcohol']").check()
    page.locator("[data-item-id='no-alcohol']").uncheck()
    expect(page.locator("[data-progress-text]")).to_contain_text("1 of")

    page.reload()
    page.locator("[data-checklist] input[type=checkbox]").first.wait_for()
    assert page.locator("[data-item-id='hands-off']").is_checked()
    assert not page.locator("[data-item-id='no-alcohol']").is_checked()
    outbox = page.evaluate(OUTBOX)
    assert [(e["item"], e["done"]) for e in sorted(outbox, key=lambda e: e["counter"])] == [
        ("hands-off", True),
        ("no-alcohol", True),
        ("no-alcohol", False),
    ]
    assert {e["day"] for e in outbox} == {today_here()}
    assert len({e["device"] for e in outbox}) == 1


def test_bad_onboarding_answers_are_explained_and_save_nothing(
    live_server, phone_profile, tmp_path
):
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    form = page.locator("[data-onboarding]")
    form.wait_for()
    tomorrow = (local_day(datetime.now(UTC), TIME_ZONE) + timedelta(days=1)).isoformat()
    form.get_by_label("At a clinic").check()
    form.get_by_label("Date of your most recent session").fill(tomorrow)
    form.get_by_role("button", name="Start my aftercare").click()
    expected = "The most recent session cannot be in the future."
    alert = form.get_by_role("alert")
    expect(alert).to_have_text(expected)
    # The message is on screen beside its field, tied to it, and focus is on that field.
    date_field = form.get_by_label("Date of your most recent session")
    expect(date_field).to_be_focused()
    expect(date_field).to_have_attribute("aria-invalid", "true")
    expect(date_field).to_have_attribute("aria-describedby", alert.get_attribute("id"))
    expect(alert).to_be_in_viewport()
    expect(date_field).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / "onboarding-refused.png"))
    # Answered again, the message goes and the field is no longer marked.
    date_field.fill(today_here(1))
    date_field.dispatch_event("change")
    expect(alert).to_be_hidden()
    expect(date_field).not_to_have_attribute("aria-invalid", "true")
    page.reload()
    form.wait_for()  # still onboarding: no plan was saved
    assert page.locator("[data-today]").is_hidden()


def test_standard_mode_only_for_light_skin_without_pih(live_server, phone_profile):
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(3), skin_type="II", history="no")
    spf = page.locator("[data-checklist=today] [data-item-id='mineral-spf']").locator("xpath=..")
    assert "iron oxides" not in spf.inner_text()
    assert page.locator("[data-checklist=today] [data-item-id='watch-darkening']").count() == 0


def test_stricter_mode_by_default_with_countdowns(live_server, phone_profile):
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(3))
    assert page.locator("[data-day-heading]").inner_text() == "Day 3 after session 1"
    spf = page.locator("[data-checklist=today] [data-item-id='mineral-spf']").locator("xpath=..")
    assert "iron oxides" in spf.inner_text()
    gates = page.locator("[data-gates]").inner_text()
    opens = date.fromisoformat(today_here(3)) + timedelta(days=14)
    assert f"Retinoids (retinol, tretinoin): not yet. From {as_today_writes(opens)}, if" in gates


def test_yesterday_can_still_be_ticked(live_server, phone_profile):
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(2))
    yesterday = page.locator("[data-yesterday] > details")
    yesterday.locator("> summary").click()
    box = yesterday.locator("[data-item-id='hands-off']")
    assert box.get_attribute("data-day") == today_here(1)
    box.check()
    expect(yesterday.locator("> summary")).to_contain_text("1 of")
    # The screen changes before the tick's transaction commits (about 14 ms): a reload
    # in between would be a tap the phone never kept.  Wait for the stored tick.
    wait_for_async(page, TICK_STORED, today_here(1))
    page.reload()
    page.locator("[data-yesterday] > details > summary").click()
    expect(page.locator("[data-yesterday] [data-item-id='hands-off']")).to_be_checked()
    assert "Day 0" in page.locator("[data-history]").inner_text()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_onboarding_today_and_history_pass_axe(live_server, playwright, tmp_path, scheme):
    context = launch_profile(
        playwright, tmp_path / "axe", timezone_id=TIME_ZONE, color_scheme=scheme, bypass_csp=True
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.locator("[data-onboarding]").wait_for()
        assert axe_violations(page) == []
        onboard(page, today_here(4))
        page.locator("[data-yesterday] > details > summary").click()
        page.locator("[data-checklist] details").first.locator("summary").click()
        assert axe_violations(page) == []
    finally:
        context.close()


TICK_STORED = phone_js("return Boolean(await phone('ticks', 'get', [arg, 'hands-off']));")
# Another device's untick arrives in IndexedDB without Today noticing.
UNTICK_BEHIND_THE_SNAPSHOT = phone_js("""
  const current = await phone('ticks', 'get', [arg, 'hands-off']);
  await phone('ticks', 'put', {...current, id: 'from-elsewhere', device: 'zz-other-device',
                               ts: current.ts + 1000, done: false});
""")


def test_indexeddb_wins_over_the_quick_snapshot(live_server, phone_profile):
    page = phone_profile.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(1))
    box = page.locator("[data-checklist=today] [data-item-id='hands-off']")
    box.check()
    expect(page.locator("[data-progress-text]")).to_contain_text("1 of")
    # The screen changes before the tick's transaction commits: wait for the stored tick.
    wait_for_async(page, TICK_STORED, today_here(0))
    page.evaluate(UNTICK_BEHIND_THE_SNAPSHOT, today_here(0))
    page.reload()
    # The snapshot still says ticked; the render from IndexedDB follows and wins.
    expect(page.locator("[data-checklist=today] [data-item-id='hands-off']")).not_to_be_checked()
    expect(page.locator("[data-progress-text]")).to_contain_text("0 of")


# Records, on every animation frame from the start of the page, whether the onboarding
# form was ever on screen, until Today's checklist is.
WATCH_THE_FORM = """(() => {
  window.__formShown = false;
  const look = () => {
    const form = document.querySelector('[data-onboarding]');
    if (form && form.getClientRects().length) window.__formShown = true;
    if (!document.querySelector('[data-checklist] input')) requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();"""


def test_a_first_visit_shows_the_form_before_any_module_has_loaded(live_server, phone):
    page = phone.new_page()
    # Every module waits: what shows is the HTML and the stylesheet alone.
    modules = HeldRequests(page, "**/*.*js")
    # Today's script is asked for once the form has been painted.
    with page.expect_request("**/static/build/today-app-*.js"):
        # "commit": the modules, held back, keep DOMContentLoaded from firing.
        page.goto(live_server.url + "/", wait_until="commit")
        form = page.locator("[data-onboarding]")
        expect(form).to_be_visible()
        expect(form.get_by_role("button", name="Start my aftercare")).to_be_disabled()
        expect(page.locator("[data-today]")).to_be_hidden()
    expect(form).to_be_visible()
    modules.release()
    expect(form.get_by_role("button", name="Start my aftercare")).to_be_enabled()


def test_a_phone_with_a_plan_never_paints_the_form(live_server, phone):
    page = phone.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(2))
    page.add_init_script(WATCH_THE_FORM)
    for _ in range(3):
        page.reload()
        page.locator("[data-checklist] input[type=checkbox]").first.wait_for()
        assert page.evaluate("window.__formShown") is False
        # Today's bundle and its chunks were asked for side by side, before the page had
        # finished parsing: every file the entry imports at once (app_shell.module_urls).
        preloaded = page.locator("link[rel=modulepreload]")
        hrefs = [link.get_attribute("href") for link in preloaded.all()]
        assert hrefs and all(href.startswith("/static/build/") for href in hrefs), hrefs
        assert hrefs[0].startswith("/static/build/today-app-")
        assert len(hrefs) >= 2, "the entry and the chunks it shares with the rest of the app"


def test_a_stale_plan_flag_still_ends_on_the_form(live_server, browser):
    # No service worker: this is about the page, not about what the worker caches.
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.goto(live_server.url + "/learn/")
    page.evaluate("localStorage.setItem('aftercare:has-plan', '1')")
    page.goto(live_server.url + "/")
    expect(page.locator("[data-onboarding]")).to_be_visible()
    expect(page.get_by_role("button", name="Start my aftercare")).to_be_enabled()
    assert page.evaluate("localStorage.getItem('aftercare:has-plan')") is None
    context.close()
