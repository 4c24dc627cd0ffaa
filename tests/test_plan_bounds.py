"""A plan's stored size is bounded however it is used, through the real app and TinyDB files.

The plan keeps only each box's winning tick and every session edit (merge.compact), a
hard cap (storage.MAX_EVENTS) stops a caller with a valid credential from growing
it further, and the sync answer comes in pages that a new device follows to the end.
"""

from __future__ import annotations

import time
from datetime import date
from datetime import timedelta

import pytest
from api_device import plan_today
from support import assert_nothing_lost
from test_api import TZ
from test_api import Device
from test_api import join
from test_api import new_plan

from pwa import storage
from pwa.care import merge
from pwa.site.today import current_schedule
from pwa.storage import plan_events
from pwa.storage import table_file

DAY_MS = 86_400_000
SESSIONS = 12
CYCLE_DAYS = 30
# What the README states for the honest year below; measured 469 KB (2,803 events kept).
HONEST_YEAR_BYTES = 600_000
# Items ticked to fill a plan's boxes: six a day, so a plan begun three years ago has room
# for more than MAX_EVENTS boxes (test_abuse.py fills one the same way).
FILLER_ITEMS = (
    "hands-off",
    "moisturise",
    "mineral-spf",
    "watch-darkening",
    "no-picking",
    "no-sunbeds",
)
# Whatever a credentialed caller does: MAX_EVENTS of the largest events the API accepts
# would be about 1.6 MB; the flood below stores 980 KB.
CAPPED_PLAN_BYTES = 1_500_000


def plan_file_bytes(app, plan_id: str) -> int:
    return (app.extensions["plans"].files.folder / f"{plan_id}.json").stat().st_size


def sync_all(device: Device, events: list[dict]) -> None:
    for start in range(0, len(events), merge.MAX_BATCH):
        batch = events[start : start + merge.MAX_BATCH]
        answer = device.sync(batch)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["acknowledged"] == [e["id"] for e in batch]


def boxes_of_a_year(schedule: dict, first: date) -> list[tuple[date, str]]:
    """Every box the checklist shows in a year of 12 sessions 30 days apart (pih_risk mode):
    each recovery day's items, the daily items after recovery, the pre-care items in the
    two weeks before each later session and the readiness answers on each session day."""
    mode = schedule["modes"]["pih_risk"]
    readiness = [question["answer_id"] for question in schedule["readiness"]]
    boxes = []
    for day_offset in range(SESSIONS * CYCLE_DAYS):
        day = first + timedelta(days=day_offset)
        since, until_next = day_offset % CYCLE_DAYS, CYCLE_DAYS - day_offset % CYCLE_DAYS
        if since < len(mode["days"]):
            items = list(mode["days"][since]["items"])
        else:
            items = list(mode["ongoing"]["items"])
        if since == 0:
            items += readiness
        elif day_offset + until_next < SESSIONS * CYCLE_DAYS:
            for before in mode["before"]:
                if before["day"] == -until_next:
                    items += before["items"]
        boxes += [(day, item) for item in dict.fromkeys(items)]
    return boxes


def test_a_year_of_daily_ticks_on_three_devices_stays_small(app, client):
    today = plan_today(TZ)
    first = today - timedelta(days=SESSIONS * CYCLE_DAYS - 1)
    plan = new_plan(sessions=[{"day": first.isoformat(), "number": 1}], planned_sessions=12)
    phone = Device(client)
    assert phone.register(plan).status_code == 201
    tablet, laptop = join(client, phone), join(client, phone)
    assert tablet.joined.status_code == laptop.joined.status_code == 200
    with app.app_context():
        schedule = current_schedule()

    now = int(time.time() * 1000)
    start_ms = now - SESSIONS * CYCLE_DAYS * DAY_MS
    sessions = [
        phone.new_event(
            ts=start_ms + n * CYCLE_DAYS * DAY_MS,
            session=f"year-{n + 1}",
            day=(first + timedelta(days=n * CYCLE_DAYS)).isoformat(),
            time=None,
            status="done",
        )
        for n in range(1, SESSIONS)
    ]
    sync_all(phone, sessions)
    sent = list(sessions)
    boxes = boxes_of_a_year(schedule, first)
    for n, device in enumerate((phone, tablet, laptop)):
        events = []
        for k, (day, item) in enumerate(boxes):
            ts = start_ms + (day - first).days * DAY_MS + n * 60_000
            events.append(device.new_event(ts=ts, day=day.isoformat(), item=item, done=True))
            if k % 4 == n:  # now and then a box is unticked and ticked again
                events.append(
                    device.new_event(ts=ts + 1, day=day.isoformat(), item=item, done=False)
                )
                events.append(
                    device.new_event(ts=ts + 2, day=day.isoformat(), item=item, done=True)
                )
        sync_all(device, events)
        sent += events

    store = app.extensions["plans"]
    stored = store.export_plan(phone.plan_id)["events"]
    assert_nothing_lost(stored, sent)
    assert len(stored) == len(set(boxes)) + len(sessions)
    assert len(stored) < storage.MAX_EVENTS / 2
    size = plan_file_bytes(app, phone.plan_id)
    print(f"\n{len(sent)} events sent, {len(stored)} kept, plan file {size:,} bytes")
    assert size < HONEST_YEAR_BYTES


@pytest.fixture
def long_ago(client):
    """A phone whose first session was three years ago: a thousand days of boxes to fill."""
    first = plan_today(TZ) - timedelta(days=3 * 365 - 5)
    device = Device(client)
    plan = new_plan(sessions=[{"day": first.isoformat(), "number": 1}])
    assert device.register(plan).status_code == 201
    device.first = first
    return device


def every_box(device, count: int, done: bool = True) -> list[dict]:
    """`count` ticks, each on a box of its own, on the days since the plan's first session."""
    items = FILLER_ITEMS
    return [
        device.new_event(
            day=(device.first + timedelta(days=n // len(items))).isoformat(),
            item=items[n % len(items)],
            done=done,
        )
        for n in range(count)
    ]


def test_a_plan_filled_to_its_cap_refuses_new_boxes_but_takes_edits(app, client, long_ago):
    cap = storage.MAX_EVENTS
    sync_all(long_ago, every_box(long_ago, cap))
    store = app.extensions["plans"]
    before = store.export_plan(long_ago.plan_id)
    assert len(before["events"]) == cap

    over = long_ago.new_event(day=date.today().isoformat(), item="hands-off", done=True)
    refused = long_ago.sync([over])
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "too_many"
    assert "6,000" in refused.get_json()["message"]
    assert "can start afresh" in refused.get_json()["message"]
    assert store.export_plan(long_ago.plan_id) == before, "a refusal changes nothing"

    # An edit of a box the plan holds replaces its event: the count stays at the cap.
    first_box = before["events"][0]
    untick = long_ago.new_event(
        ts=first_box["ts"] + 1, day=first_box["day"], item=first_box["item"], done=False
    )
    assert long_ago.sync([untick]).status_code == 200
    after = store.export_plan(long_ago.plan_id)["events"]
    assert len(after) == cap and untick in after and first_box not in after
    size = plan_file_bytes(app, long_ago.plan_id)
    print(f"\nplan at its cap of {cap} events: {size:,} bytes")
    assert size < CAPPED_PLAN_BYTES


def test_a_new_device_reads_a_long_plan_in_pages(client, long_ago):
    page = storage.PAGE_SIZE
    sync_all(long_ago, every_box(long_ago, 2 * page + 37))
    tablet = join(client, long_ago)
    cursor, seen, answers = 0, [], 0
    while True:
        answer = tablet.sync([], cursor=cursor).get_json()
        answers += 1
        assert len(answer["events"]) <= page
        seen += answer["events"]
        cursor = answer["cursor"]
        if not answer["more"]:
            break
    assert answers == 3
    assert len(seen) == len({e["id"] for e in seen}) == 2 * page + 37
    # Asked again from the end, there is nothing more.
    last = tablet.sync([], cursor=cursor).get_json()
    assert last["events"] == [] and last["more"] is False and last["cursor"] == cursor


def test_a_page_with_new_events_answers_from_the_cursor_in_pages_too(client, long_ago):
    sync_all(long_ago, every_box(long_ago, storage.PAGE_SIZE + 10))
    tablet = join(client, long_ago)
    mine = tablet.new_event(day=long_ago.first.isoformat(), item="no-alcohol", done=True)
    answer = tablet.sync([mine], cursor=0).get_json()
    assert answer["acknowledged"] == [mine["id"]]
    assert len(answer["events"]) == storage.PAGE_SIZE and answer["more"] is True
    rest = tablet.sync([], cursor=answer["cursor"]).get_json()
    assert rest["more"] is False
    assert mine["id"] in [e["id"] for e in rest["events"]], "its own event is on the last page"


def test_a_late_edit_that_loses_is_acknowledged_and_not_stored(app, client, phone_and_box):
    phone, box = phone_and_box
    store = app.extensions["plans"]
    before = store.export_plan(phone.plan_id)["events"]
    late = phone.new_event(ts=box["ts"] - 60_000, day=box["day"], item=box["item"], done=False)
    answer = phone.sync([late]).get_json()
    assert answer["acknowledged"] == [late["id"]]
    assert store.export_plan(phone.plan_id)["events"] == before
    assert answer["events"] == [box], "the device learns the edit that won"


@pytest.fixture
def phone_and_box(client):
    phone = Device(client)
    assert phone.register().status_code == 201
    box = phone.event(item="hands-off", done=True)
    assert phone.sync([box]).status_code == 200
    return phone, box


def test_devices_ever_linked_to_a_plan_are_bounded(app, client, phone_and_box):
    phone, _ = phone_and_box
    store = app.extensions["plans"]
    for _ in range(storage.MAX_DEVICES_EVER - 1):
        tablet = join(client, phone)
        assert tablet.joined.status_code == 200
        store.revoke_device(phone.plan_id, tablet.id)
    last = join(client, phone)
    assert last.joined.status_code == 409
    assert last.joined.get_json()["error"] == "too_many"
    assert len(store.list_devices(phone.plan_id)) == storage.MAX_DEVICES_EVER


def test_a_strangers_request_never_reads_past_the_plan_files_head(app, client, phone_and_box):
    """The credential is checked on the devices alone, which the file's head holds: with
    the event tables' lines replaced by something no reader could take, and put past the
    head, a wrong credential still gets the stranger's 404, a stranger's registration of
    the same id its 409, and the owner's device list still loads."""
    phone, _ = phone_and_box
    path = app.extensions["plans"].files.folder / f"{phone.plan_id}.json"
    lines = path.read_bytes().splitlines()
    events = [line for line in lines if plan_events.is_event_table(line.split(b'"')[1].decode())]
    assert events
    lines = [line for line in lines if line not in events]
    # Not a table line at all (a reader that reached it would fail), and far past the head.
    lines.append(b"\xff not JSON, not even text " * (table_file.HEAD_BYTES // 10))
    path.write_bytes(b"\n".join(lines) + b"\n")

    stranger = {"Authorization": f"Bearer {phone.id}.{'x' * 32}"}
    for method, url in [
        ("POST", f"/api/plans/{phone.plan_id}/sync"),
        ("GET", f"/api/plans/{phone.plan_id}/export"),
        ("POST", f"/api/plans/{phone.plan_id}/join-tokens"),
    ]:
        answer = client.open(url, method=method, headers=stranger, json={"events": [], "cursor": 0})
        assert answer.status_code == 404, (method, url, answer.get_json())
    other = Device(client, plan_id=phone.plan_id)
    assert other.register().status_code == 409
    listed = client.get(f"/api/plans/{phone.plan_id}/devices", headers=phone.auth)
    assert listed.status_code == 200 and len(listed.get_json()["devices"]) == 1
