"""Settings lists the plan's devices with Remove for a lost one, and a person without another
device restores her plan from the exported file on a new phone (a fresh browser profile)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import open_controlled
from helpers import phone_js
from helpers import wait_for_async
from playwright.sync_api import expect
from support import stored_plans
from test_checklist import onboard
from test_checklist import today_here
from test_sync import PLAN_ID
from test_sync import POKE_SYNC
from test_sync import REGISTERED
from test_sync import show_device_link
from test_sync import wait_for_server_state

OUTBOX_SIZE = phone_js("return phone('outbox', 'count');")
HAS_PLAN = phone_js("return Boolean(await phone('plan', 'get', 'current'));")


def box(page, item):
    return page.locator(f"[data-checklist=today] [data-item-id='{item}']")


def test_settings_lists_the_devices_and_removes_a_lost_one(own_server, profile, second_profile):
    first = open_controlled(profile, own_server.url + "/")
    href = show_device_link(first, own_server.url).get_attribute("href")
    lost = second_profile.new_page()
    lost.goto(href)
    lost.get_by_role("button", name="Add this device").click()
    lost.wait_for_url(own_server.url + "/")

    first.reload()
    rows = first.locator("[data-device-list] li")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("(this device)")
    expect(rows.first).to_contain_text("on Linux")  # headless Chromium on this machine
    expect(rows.first).to_contain_text("last synced just now")
    expect(rows.first.get_by_role("button")).to_have_count(0)
    first.once("dialog", lambda dialog: dialog.accept())
    rows.nth(1).get_by_role("button", name="Remove").click()
    expect(first.locator("[data-device-list] [role=status]")).to_contain_text("Removed")
    expect(rows).to_have_count(1)

    lost.evaluate(POKE_SYNC)
    expect(lost.locator("[data-sync-status]")).to_contain_text("this phone was removed")


def export_file(page, base_url) -> Path:
    page.goto(base_url + "/settings/")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export my data").click()
    return Path(download.value.path())


def test_restore_on_a_new_phone_brings_back_the_same_plan_and_unsent_ticks(
    own_server, profile, second_profile, browser, tmp_path
):
    old = open_controlled(profile, own_server.url + "/")
    onboard(old, today_here(2))
    box(old, "hands-off").check()
    plan_id = old.evaluate(PLAN_ID)
    wait_for_server_state(own_server, plan_id, "hands-off", True)
    # One tick never reaches the server before the phone is lost.
    own_server.stop()
    box(old, "moisturise").check()
    wait_for_async(old, f"async () => (await ({OUTBOX_SIZE})()) === 1")
    saved = export_file(old, own_server.url)
    exported = json.loads(saved.read_text())
    assert exported["format"] == "aftercare-export" and "how_to_restore" in exported
    assert [e["item"] for e in exported["waiting_to_sync"]] == ["moisturise"]
    own_server.start()

    new = second_profile.new_page()
    new.goto(own_server.url + "/")
    new.get_by_role("link", name="Restore from a saved file").click()
    expect(new.locator("[data-restore]")).to_be_in_viewport()  # shown, and scrolled to
    new.locator("[data-restore-file]").set_input_files(saved)
    expect(new.locator("[data-restore-status]")).to_contain_text(
        "Your plan is back on this phone", timeout=15_000
    )
    new.screenshot(path=str(tmp_path / "restored.png"), full_page=True)
    new.get_by_role("link", name="Open my checklist").click()
    expect(new.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    expect(box(new, "hands-off")).to_be_checked()
    expect(box(new, "moisturise")).to_be_checked()
    assert new.evaluate(PLAN_ID) == plan_id
    wait_for_server_state(own_server, plan_id, "moisturise", True)
    expect(new.locator("[data-sync-status]")).to_contain_text("Synced", timeout=15_000)

    # The phone the file came from is unlinked: the file opens nothing any more.
    devices = stored_plans(own_server.data_dir).list_devices(plan_id)
    assert [d["revoked"] for d in devices] == [True, False]
    old.goto(own_server.url + "/")
    old.evaluate(POKE_SYNC)
    expect(old.locator("[data-sync-status]")).to_contain_text("this phone was removed")

    # The same file on yet another phone no longer opens the plan: asked before a new one.
    third = browser.new_context().new_page()
    third.goto(own_server.url + "/settings/")
    expect(third.locator("[data-restore]")).to_be_visible()
    asked = []
    third.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    third.locator("[data-restore-file]").set_input_files(saved)
    expect(third.locator("[data-restore-status]")).to_have_text(re.compile("^Nothing was restored"))
    assert "no longer opens your plan" in asked[0]
    assert third.evaluate(HAS_PLAN) is False
    third.context.close()


def test_a_file_for_a_plan_the_server_lost_becomes_a_new_plan_with_its_history(
    own_server, profile, second_profile
):
    old = open_controlled(profile, own_server.url + "/")
    onboard(old, today_here(3))
    box(old, "no-sweat").check()
    plan_id = old.evaluate(PLAN_ID)
    wait_for_server_state(own_server, plan_id, "no-sweat", True)
    saved = export_file(old, own_server.url)
    stored_plans(own_server.data_dir).delete_plan(plan_id)

    new = second_profile.new_page()
    new.goto(own_server.url + "/settings/")
    expect(new.locator("[data-restore]")).to_be_visible()
    new.once("dialog", lambda dialog: dialog.accept())  # "… as a separate new plan instead?"
    new.locator("[data-restore-file]").set_input_files(saved)
    expect(new.locator("[data-restore-status]")).to_contain_text("as a new plan", timeout=15_000)
    new.get_by_role("link", name="Open my checklist").click()
    expect(new.locator("[data-day-heading]")).to_have_text("Day 3 after session 1")
    expect(box(new, "no-sweat")).to_be_checked()
    wait_for_async(new, REGISTERED)
    new_id = new.evaluate(PLAN_ID)
    assert new_id != plan_id
    wait_for_server_state(own_server, new_id, "no-sweat", True)


def test_a_file_that_is_not_an_export_is_refused_and_changes_nothing(
    live_server, second_profile, tmp_path
):
    page = second_profile.new_page()
    page.goto(live_server.url + "/settings/")
    page.get_by_role("button", name="Export my data").click()
    expect(page.locator("[data-data-status]")).to_have_text("There is no data on this phone.")
    status = page.locator("[data-restore-status]")
    not_an_export = "This file is not one the app saved with “Export my data”. Nothing was changed."
    for name, text, message in [
        ("notes.json", "my notes", not_an_export),
        ("other.json", json.dumps({"plan": {"planId": "x"}, "ticks": "no"}), not_an_export),
        (
            "empty.json",
            json.dumps({"format": "aftercare-export", "version": 2, "plan": None}),
            "This file holds no plan. Nothing was changed.",
        ),
    ]:
        page.goto(live_server.url + "/settings/")
        expect(page.locator("[data-restore]")).to_be_visible()
        (tmp_path / name).write_text(text)
        page.locator("[data-restore-file]").set_input_files(tmp_path / name)
        expect(status).to_have_text(message)
        assert page.evaluate(HAS_PLAN) is False
