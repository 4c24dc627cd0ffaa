"""Two phones of one person, each talking to a different app host of a clinic group.

Hosts A and B are `make run` on one PostgreSQL and one Redis (tests/several_hosts.py).
The first phone uses A: it ticks, and shows a device link.  The second phone opens that
link on B (another origin, so its own service worker and its own storage, as another
phone would have), joins, sees the tick, and unticks; the first phone sees the untick.
"""

from __future__ import annotations

import re

import pytest
from helpers import open_controlled
from helpers import wait_for_async
from playwright.sync_api import expect
from several_hosts import running_hosts
from support import stored_plans
from support import wait_until
from test_checklist import onboard
from test_checklist import today_here
from test_sync import PLAN_ID
from test_sync import POKE_SYNC
from test_sync import REGISTERED

from pwa.storage import PlanNotFound

REDIS_DATABASE = 12  # not test_several_hosts.py's, which empties its own


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, postgres_database):
    postgres_database.empty()
    folder = tmp_path_factory.mktemp("browser-hosts")
    with running_hosts(folder, postgres_database.url, REDIS_DATABASE, names="ab") as started:
        yield started


def box_is_done(host, database_url: str, plan_id: str, item: str, done: bool) -> bool:
    """Whether the plan's winning tick of `item`, read through `host`'s store, is `done`."""
    try:
        state = stored_plans(host.data_dir, database_url).tick_state(plan_id)
    except PlanNotFound:  # the phone has not registered the plan yet
        return False
    return any(key[1] == item and tick["done"] is done for key, tick in state.items())


def test_a_tick_on_one_host_reaches_a_phone_joined_through_another(
    hosts, postgres_database, profile, second_profile
):
    host_a, host_b = hosts
    first = open_controlled(profile, host_a.url + "/")
    onboard(first, today_here(2))
    wait_for_async(first, REGISTERED)
    first.locator("[data-checklist=today] [data-item-id='hands-off']").check()
    plan_id = first.evaluate(PLAN_ID)
    wait_until(
        lambda: box_is_done(host_b, postgres_database.url, plan_id, "hands-off", True),
        timeout=30,
        every=0.2,
    )

    first.goto(host_a.url + "/settings/")
    first.locator("[data-devices-ready]").wait_for(timeout=10_000)
    first.get_by_role("button", name="Show a link").click()
    link = first.locator("[data-device-link]")
    expect(link).to_have_attribute("href", re.compile(r"^http"))
    href = link.get_attribute("href")
    assert href.startswith(host_a.url + "/settings/join#")
    # The second phone reaches the group through the other host, as a load balancer may send it.
    second = second_profile.new_page()
    second.goto(href.replace(host_a.url, host_b.url, 1))
    second.get_by_role("button", name="Add this device").click()
    second.wait_for_url(host_b.url + "/")
    box = second.locator("[data-checklist=today] [data-item-id='hands-off']")
    expect(box).to_be_checked(timeout=15_000)
    expect(second.locator("[data-day-heading]")).to_have_text("Day 2 after session 1")
    second.screenshot(path=str(host_b.data_dir.parent / "second-phone-on-b.png"))

    box.uncheck()
    wait_until(
        lambda: box_is_done(host_a, postgres_database.url, plan_id, "hands-off", False),
        timeout=30,
        every=0.2,
    )
    first.goto(host_a.url + "/")
    first.evaluate(POKE_SYNC)
    mine = first.locator("[data-checklist=today] [data-item-id='hands-off']")
    expect(mine).not_to_be_checked(timeout=15_000)
    expect(first.locator("[data-sync-status]")).to_have_text("Synced just now", timeout=15_000)
