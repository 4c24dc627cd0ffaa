"""Reading the app at 200 % text size, at 200 % zoom, and by screen reader.

200 % text is the browser's default font size doubled (what a phone's text-size setting
does to pages); 200 % zoom on a 390 x 844 phone is a 195 x 422 CSS-pixel viewport.
"""

from __future__ import annotations

import re

import pytest
from helpers import launch_profile
from helpers import open_controlled
from playwright.sync_api import expect
from test_checklist import TIME_ZONE
from test_checklist import onboard
from test_checklist import today_here

PAGES = ["/", "/sessions/", "/learn/", "/settings/"]
TAB_BOXES = """() => [...document.querySelectorAll('.tab-bar__link')].map((link) => {
  const box = link.getBoundingClientRect();
  const parts = [...link.children].filter((part) => part.getBoundingClientRect().width > 1);
  return {
    name: link.textContent.trim(),
    box: [box.left, box.top, box.right, box.bottom],
    // What can be seen of the link (its icon, and its label unless hidden for want of room).
    seen: parts.map((part) => {
      const r = part.getBoundingClientRect();
      return [r.left, r.top, r.right, r.bottom];
    }),
  };
})"""


def overlaps(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def inside(inner, outer) -> bool:
    return (
        inner[0] >= outer[0] - 0.5
        and inner[1] >= outer[1] - 0.5
        and inner[2] <= outer[2] + 0.5
        and inner[3] <= outer[3] + 0.5
    )


@pytest.fixture(params=["text-200", "zoom-200"])
def large_phone(request, playwright, tmp_path):
    if request.param == "zoom-200":
        options = {"viewport": {"width": 195, "height": 422}, "device_scale_factor": 6}
    else:
        options = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3}
    context = launch_profile(playwright, tmp_path / "phone", timezone_id=TIME_ZONE, **options)
    page = context.new_page()
    if request.param == "text-200":
        # The browser's text-size setting: every rem in the app's CSS doubles.
        context.new_cdp_session(page).send("Page.setFontSizes", {"fontSizes": {"standard": 32}})
    page.kind = request.param
    yield page
    context.close()


def test_the_tab_bar_fits_and_stays_on_screen_at_200_percent(live_server, large_phone, tmp_path):
    page = large_phone
    page.goto(live_server.url + "/")
    onboard(page, today_here(3))
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    screen = [0, 0, width, height]
    for path in PAGES:
        page.goto(live_server.url + path)
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_be_in_viewport()
        tabs = page.evaluate(TAB_BOXES)
        assert [tab["name"] for tab in tabs] == ["Today", "Sessions", "Learn", "Settings"]
        for tab in tabs:
            assert inside(tab["box"], screen), (path, tab)
            assert tab["seen"], (path, tab)
            assert all(inside(part, tab["box"]) for part in tab["seen"]), (path, tab)
        seen = [part for tab in tabs for part in tab["seen"]]
        for i, first in enumerate(seen):
            for second in seen[i + 1 :]:
                assert not overlaps(first, second), (path, first, second)
        # Each tab keeps its name for a screen reader, whether or not its label shows.
        for name in ("Today", "Sessions", "Learn", "Settings"):
            expect(nav.get_by_role("link", name=name)).to_be_visible()
        if path == "/":  # the day card's ring stays inside the card
            card = page.locator(".day-card").bounding_box()
            ring = page.locator("[data-ring]").bounding_box()
            assert ring["x"] + ring["width"] <= card["x"] + card["width"] + 0.5, (card, ring)
        # Fixed at the foot of the screen, not at the end of a long page.
        assert tabs[0]["box"][3] <= height + 0.5
        page.screenshot(path=str(tmp_path / f"{page.kind}{path.replace('/', '-')}.png"))


def test_a_screen_reader_hears_the_count_and_the_sync_state_change(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    onboard(page, today_here(2))
    card = page.locator(".day-card")
    expect(page.locator("[data-sync-status]")).to_have_text("Synced just now", timeout=15_000)
    count = card.get_by_role("status").filter(has_text="done today")
    expect(count).to_have_text(re.compile(r"^0 of \d+ done today$"))
    announcer = page.locator("[data-sync-announce]")
    expect(announcer).to_have_attribute("role", "status")
    expect(announcer).to_have_text("")  # the state on arrival is not read out

    own_server.stop()
    page.locator("[data-checklist=today] input[type=checkbox]").first.check()
    expect(count).to_have_text(re.compile(r"^1 of \d+ done today$"))
    # The line keeps its "n min ago" current; the live region speaks only of a change.
    expect(announcer).to_have_text("Offline — will sync", timeout=15_000)
    own_server.start()
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(announcer).to_have_text("Synced just now", timeout=30_000)


def test_each_why_control_names_its_item(live_server, phone):
    page = phone.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(2))
    checklist = page.locator("[data-checklist=today]")
    expect(checklist.locator("summary").first).to_be_visible()
    # The names Chromium gives a screen reader, from its accessibility tree.
    tree = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    named = [
        (node["role"]["value"], node.get("name", {}).get("value", ""))
        for node in tree
        if not node.get("ignored")
    ]
    whys = [n for role, n in named if role == "DisclosureTriangle" and n.startswith("Why?")]
    items = [name for role, name in named if role == "checkbox"][: len(whys)]
    assert len(whys) == checklist.locator("summary").count() == len(items) > 5, named
    # "Why? Put on a tinted mineral sunscreen …": each names the item it explains.
    assert whys == [f"Why? {item}" for item in items]
