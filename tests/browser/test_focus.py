"""A keyboard user keeps her place: no redraw for the phone's own events coming back from
the server, and a redraw for another device's change leaves focus where it was."""

from __future__ import annotations

from helpers import wait_for_async
from playwright.sync_api import expect
from test_checklist import onboard
from test_checklist import today_here

OUTBOX_EMPTY = """async () => {
  const {outboxSize, getMeta} = await import('/static/js/lib/store.js');
  return (await getMeta('registered')) === true && (await outboxSize()) === 0;
}"""


def test_a_keyboard_tick_keeps_focus_through_its_sync_and_a_redraw(live_server, checked_phone):
    page = checked_phone.new_page()
    page.goto(live_server.url + "/")
    onboard(page, today_here(2), setting="clinic")
    box = page.get_by_role("checkbox", name="Kept my hands off my face", exact=True)
    box.focus()
    # Mark the element: a redraw would replace it with a new one.
    box.evaluate("element => { element.dataset.marked = 'yes'; }")
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    wait_for_async(page, OUTBOX_EMPTY)  # the tick went to the server and came back
    expect(page.locator("[data-sync-status]")).to_contain_text("Synced")
    focused = page.evaluate(
        "() => [document.activeElement.id, document.activeElement.dataset.marked]"
    )
    assert focused == [f"tick-{today_here()}-hands-off", "yes"], "her own tick redrew Today"

    # Another device's change redraws Today; the same box keeps focus.
    page.evaluate("() => document.dispatchEvent(new CustomEvent('aftercare:remote-changes'))")
    expect(box).not_to_have_attribute("data-marked", "yes")  # drawn anew
    page.wait_for_function(
        "id => document.activeElement && document.activeElement.id === id",
        arg=f"tick-{today_here()}-hands-off",
    )
    page.keyboard.press("Space")  # and the keyboard still works on it
    expect(box).not_to_be_checked()
