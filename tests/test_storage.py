"""The storage package and the plan store, run against both stores: memory and JSON files."""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from pwa import storage
from pwa.care.merge import EventError
from pwa.care.merge import validate_batch
from pwa.reminders import due
from pwa.storage import DeviceExists
from pwa.storage import FilePlanStore
from pwa.storage import PlanExists
from pwa.storage import PlanNotFound
from pwa.storage import StoreBusy
from pwa.storage import UnknownDevice
from pwa.storage import plan_events
from pwa.storage import table_file
from pwa.storage.postgres import PostgresPlanStore
from pwa.storage.postgres import schema as postgres_schema
from pwa.storage.store import Store
from pwa.storage.table_file import AtomicJSONStorage
from pwa.storage.table_file import Tables
from pwa.storage.table_file import load_file

ROOT = Path(__file__).resolve().parent.parent

PLAN_ID = "plan-0123456789abcdef"
OTHER_PLAN_ID = "plan-fedcba9876543210"
PHONE = "phone-0001"
TABLET = "tablet-0002"
PHONE_HASH = "a1" * 32
TABLET_HASH = "b2" * 32
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
# The table that holds tick()'s events (plan_events: one per month of ticks).
JANUARY = "ticks-2026-01"
PLAN = {"protocol": "microneedling", "version": 3, "time_zone": "Europe/London"}


FILE_BACKENDS = ["memory", "json"]
BACKENDS = [*FILE_BACKENDS, "postgres"]


def pytest_generate_tests(metafunc):
    """Every test that takes `store` runs on each backend: the file backend in memory and
    in JSON files, then PostgreSQL; a test marked `files` checks the files themselves."""
    if "store" in metafunc.fixturenames:
        files_only = metafunc.definition.get_closest_marker("files") is not None
        metafunc.parametrize("store", FILE_BACKENDS if files_only else BACKENDS, indirect=True)


@pytest.fixture
def store(request, tmp_path):
    if request.param == "postgres":
        database = request.getfixturevalue("postgres_database")
        database.empty()
        return PostgresPlanStore(database.database)
    if request.param == "memory":
        return FilePlanStore()
    return FilePlanStore(tmp_path / "plans")


@pytest.fixture
def plan_id(store):
    store.create_plan(PLAN_ID, dict(PLAN), PHONE, PHONE_HASH, NOW)
    return PLAN_ID


def tick(n: int, device: str = PHONE, **fields) -> dict:
    event = {
        "id": f"{device}-event-{n:05d}",
        "device": device,
        "counter": n,
        "ts": NOW - 1000 + n,  # made just before it reaches the server at NOW
        "day": "2026-01-01",
        # A box of its own: the plan keeps only each box's winner (merge.compact), and most
        # tests here count what was stored.  Tests of one box name the item.
        "item": f"{device}-{n}",
        "done": n % 2 == 0,
    }
    return {**event, **fields}


def files_in(store) -> list[str]:
    """What the store has on disk; for PostgreSQL, the plans it holds (a probe must leave
    no plan behind there either)."""
    if not isinstance(store, FilePlanStore):
        return store.plan_ids()
    return sorted(os.listdir(store.files.folder)) if store.files.folder else []


# Plans


def test_created_plan_can_be_read_back(store, plan_id):
    assert store.plan_exists(plan_id)
    assert store.get_plan(plan_id) == PLAN
    assert store.plan_ids() == [plan_id]


def test_unknown_plan_reads_as_none(store):
    assert store.get_plan(PLAN_ID) is None
    assert not store.plan_exists(PLAN_ID)
    assert store.plan_ids() == []


def test_creating_a_plan_twice_is_refused(store, plan_id):
    with pytest.raises(PlanExists):
        store.create_plan(plan_id, {"other": True}, TABLET, TABLET_HASH, NOW)
    assert store.get_plan(plan_id) == PLAN
    assert not store.device_is_valid(plan_id, TABLET, TABLET_HASH)


def test_update_plan_sets_keys_and_returns_the_plan(store, plan_id):
    updated = store.update_plan(plan_id, {"version": 4, "sessions": ["2026-02-01"]})
    assert updated == {**PLAN, "version": 4, "sessions": ["2026-02-01"]}
    assert store.get_plan(plan_id) == updated


def test_update_of_unknown_plan_raises(store):
    with pytest.raises(PlanNotFound):
        store.update_plan(PLAN_ID, {"version": 4})
    assert files_in(store) == []


def test_plans_are_stored_apart(store, plan_id):
    store.create_plan(OTHER_PLAN_ID, {"other": 1}, TABLET, TABLET_HASH, NOW)
    store.apply_events(plan_id, PHONE, [tick(1)], NOW)
    assert store.changes_since(OTHER_PLAN_ID, 0) == ([], 0)
    assert not store.device_is_valid(OTHER_PLAN_ID, PHONE, PHONE_HASH)
    assert store.plan_ids() == sorted([plan_id, OTHER_PLAN_ID])


def test_deleted_plan_is_gone_and_stays_gone(store, plan_id):
    store.apply_events(plan_id, PHONE, [tick(1)], NOW)
    assert store.delete_plan(plan_id) is True
    assert store.get_plan(plan_id) is None
    assert not store.plan_exists(plan_id)
    assert not store.device_is_valid(plan_id, PHONE, PHONE_HASH)
    assert store.delete_plan(plan_id) is False
    # A sync that was waiting behind the delete must not bring the plan back.
    with pytest.raises(PlanNotFound):
        store.apply_events(plan_id, PHONE, [tick(2)], NOW)
    assert not store.plan_exists(plan_id)
    assert not any(name.endswith(".json") for name in files_in(store))


def test_plan_must_hold_json_values_only(store):
    # The memory store is as strict as the file, so the fast leg catches this too.
    with pytest.raises(TypeError):
        store.create_plan(PLAN_ID, {"start": datetime.date(2026, 1, 1)}, PHONE, "h", 0)
    assert not store.plan_exists(PLAN_ID)


def test_failed_update_leaves_the_plan_as_it_was(store, plan_id):
    with pytest.raises(ValueError):
        store.update_plan(plan_id, {"score": float("nan")})
    assert store.get_plan(plan_id) == PLAN


# Devices


def test_device_is_valid_only_with_its_own_hash(store, plan_id):
    assert store.device_is_valid(plan_id, PHONE, PHONE_HASH)
    assert not store.device_is_valid(plan_id, PHONE, TABLET_HASH)
    assert not store.device_is_valid(plan_id, PHONE, PHONE_HASH[:-1])
    assert not store.device_is_valid(plan_id, PHONE, "")
    assert not store.device_is_valid(plan_id, PHONE, None)
    assert not store.device_is_valid(plan_id, PHONE, "é" * 64)
    assert not store.device_is_valid(plan_id, TABLET, PHONE_HASH)
    assert not store.device_is_valid(OTHER_PLAN_ID, PHONE, PHONE_HASH)
    assert not store.device_is_valid("../" + plan_id, PHONE, PHONE_HASH)


def test_added_device_is_valid_until_revoked(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW + 5)
    assert store.device_is_valid(plan_id, TABLET, TABLET_HASH)
    assert not store.device_is_valid(plan_id, TABLET, PHONE_HASH)
    assert store.revoke_device(plan_id, TABLET) is True
    assert not store.device_is_valid(plan_id, TABLET, TABLET_HASH)
    assert store.device_is_valid(plan_id, PHONE, PHONE_HASH)
    assert store.revoke_device(plan_id, "nobody-00000") is False


def test_device_ids_are_never_reused_on_a_plan(store, plan_id):
    with pytest.raises(DeviceExists):
        store.add_device(plan_id, PHONE, TABLET_HASH, NOW)
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    store.revoke_device(plan_id, TABLET)
    with pytest.raises(DeviceExists):
        store.add_device(plan_id, TABLET, "new-hash", NOW)
    assert not store.device_is_valid(plan_id, TABLET, "new-hash")


@pytest.mark.parametrize(
    ("device_id", "credential_hash"),
    [("short", "h"), ("phone 0001", "h"), (None, "h"), (TABLET, ""), (TABLET, None)],
)
def test_malformed_device_is_refused(store, plan_id, device_id, credential_hash):
    with pytest.raises(ValueError):
        store.add_device(plan_id, device_id, credential_hash, NOW)


def test_adding_a_device_to_an_unknown_plan_raises(store):
    with pytest.raises(PlanNotFound):
        store.add_device(PLAN_ID, TABLET, TABLET_HASH, NOW)


def test_list_devices_shows_no_credential_hashes(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW + 5)
    store.revoke_device(plan_id, TABLET)
    assert store.list_devices(plan_id) == [
        {"device": PHONE, "name": "", "added_ms": NOW, "last_seen_ms": NOW, "revoked": False},
        {
            "device": TABLET,
            "name": "",
            "added_ms": NOW + 5,
            "last_seen_ms": NOW + 5,
            "revoked": True,
        },
    ]


def test_apply_events_records_when_the_device_was_last_seen(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    store.apply_events(plan_id, PHONE, [tick(1)], NOW + 60_000)
    store.apply_events(plan_id, PHONE, [tick(1)], NOW + 120_000)
    seen = {d["device"]: d["last_seen_ms"] for d in store.list_devices(plan_id)}
    assert seen == {PHONE: NOW + 120_000, TABLET: NOW}


# Join tokens


def test_join_token_can_be_redeemed_once(store, plan_id):
    store.add_join_token(plan_id, "token-hash-1", NOW + 600_000)
    assert store.redeem_join_token(plan_id, "token-hash-1", NOW) is True
    assert store.redeem_join_token(plan_id, "token-hash-1", NOW) is False


def test_join_token_expires(store, plan_id):
    store.add_join_token(plan_id, "token-hash-1", NOW + 600_000)
    assert store.redeem_join_token(plan_id, "token-hash-1", NOW + 600_000) is False
    store.add_join_token(plan_id, "token-hash-2", NOW + 600_000)
    assert store.redeem_join_token(plan_id, "token-hash-2", NOW + 599_999) is True


def test_unknown_join_token_or_plan_is_refused(store, plan_id):
    store.add_join_token(plan_id, "token-hash-1", NOW + 600_000)
    assert store.redeem_join_token(plan_id, "token-hash-2", NOW) is False
    assert store.redeem_join_token(OTHER_PLAN_ID, "token-hash-1", NOW) is False
    assert store.redeem_join_token("../x", "token-hash-1", NOW) is False
    assert store.redeem_join_token(plan_id, "token-hash-1", NOW) is True


def test_join_token_of_one_plan_does_not_work_on_another(store, plan_id):
    store.create_plan(OTHER_PLAN_ID, {}, TABLET, TABLET_HASH, NOW)
    store.add_join_token(OTHER_PLAN_ID, "token-hash-1", NOW + 600_000)
    assert store.redeem_join_token(plan_id, "token-hash-1", NOW) is False


def test_probing_unknown_plans_leaves_no_files(store):
    assert not store.device_is_valid(PLAN_ID, PHONE, PHONE_HASH)
    assert not store.redeem_join_token(PLAN_ID, "token-hash-1", NOW)
    assert store.get_plan(PLAN_ID) is None
    assert files_in(store) == []


# Ticks


def test_apply_events_numbers_new_events_and_returns_the_cursor(store, plan_id):
    assert store.apply_events(plan_id, PHONE, [tick(1), tick(2)], NOW) == 2
    assert store.apply_events(plan_id, PHONE, [tick(3)], NOW) == 3
    events, cursor = store.changes_since(plan_id, 0)
    assert cursor == 3
    assert events == [tick(1), tick(2), tick(3)]


def test_apply_events_is_idempotent(store, plan_id):
    batch = [tick(n) for n in range(1, 6)]
    first = store.apply_events(plan_id, PHONE, batch, NOW)
    again = store.apply_events(plan_id, PHONE, batch, NOW)
    assert first == again == 5
    # A retry that overlaps the last batch numbers only what is new.
    assert store.apply_events(plan_id, PHONE, [tick(5), tick(6), tick(1)], NOW) == 6
    events, cursor = store.changes_since(plan_id, 0)
    assert [e["id"] for e in events] == [tick(n)["id"] for n in range(1, 7)]
    assert cursor == 6


def test_a_write_after_the_requests_snapshot_is_never_lost(store, plan_id):
    # The sync view reads a snapshot, then applies its batch under the lock, reusing the
    # snapshot's parsed events only if the file still holds the very same text.
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    store.apply_events(plan_id, PHONE, [tick(1)], NOW)
    seen = store.snapshot(plan_id)
    assert [e["id"] for e in seen.page(0).events] == [tick(1)["id"]]
    store.apply_events(plan_id, TABLET, [tick(2, device=TABLET)], NOW)
    page = store.apply_and_read(plan_id, PHONE, [tick(3)], NOW, cursor=0, seen=seen)
    assert [e["id"] for e in page.events] == [
        tick(1)["id"],
        tick(2, device=TABLET)["id"],
        tick(3)["id"],
    ]
    assert page.cursor == 3
    events, _ = store.changes_since(plan_id, 0)
    assert events == [tick(1), tick(2, device=TABLET), tick(3)]
    if isinstance(store, FilePlanStore):
        # The file snapshot itself is left as it was read (PostgreSQL's reads a page anew).
        assert [e["id"] for e in seen.tables[JANUARY].values()] == [tick(1)["id"]]


@pytest.mark.files
def test_a_snapshot_of_the_same_file_lends_its_events_to_the_write(store, plan_id):
    store.apply_events(plan_id, PHONE, [tick(1), tick(2, item="box")], NOW)
    seen = store.snapshot(plan_id)
    assert len(seen.page(0).events) == 2
    # An edit of box's tick: it replaces the stored one, in the table the write builds anew.
    edit = tick(3, item="box", ts=NOW)
    page = store.apply_and_read(plan_id, PHONE, [edit], NOW, cursor=2, seen=seen)
    assert page.events == [edit] and page.cursor == 3
    assert store.changes_since(plan_id, 0)[0] == [tick(1), edit]
    # The write replaced the table it shared with the snapshot, and left the snapshot's alone.
    assert [e["id"] for e in seen.tables[JANUARY].values()] == [tick(1)["id"], tick(2)["id"]]


def test_changes_since_returns_only_newer_events_in_order(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    store.apply_events(plan_id, PHONE, [tick(1), tick(2)], NOW)
    store.apply_events(plan_id, TABLET, [tick(1, TABLET)], NOW)
    store.apply_events(plan_id, PHONE, [tick(3)], NOW)
    assert store.changes_since(plan_id, 2) == ([tick(1, TABLET), tick(3)], 4)
    assert store.changes_since(plan_id, 4) == ([], 4)
    assert store.changes_since(plan_id, 99) == ([], 4)


@pytest.mark.parametrize("cursor", [-1, "0", 1.5, None, True])
def test_changes_since_needs_a_whole_number_cursor(store, plan_id, cursor):
    with pytest.raises(ValueError):
        store.changes_since(plan_id, cursor)


def test_events_without_internal_fields(store, plan_id):
    store.apply_events(plan_id, PHONE, [tick(1)], NOW)
    (event,) = store.changes_since(plan_id, 0)[0]
    assert set(event) == {"id", "device", "counter", "ts", "day", "item", "done"}


def test_a_bad_batch_stores_nothing(store, plan_id):
    with pytest.raises(EventError, match=r"^events\[1\]\.day: "):
        store.apply_events(plan_id, PHONE, [tick(1), tick(2, day="2026-02-30")], NOW)
    assert store.changes_since(plan_id, 0) == ([], 0)


def test_a_device_may_only_send_its_own_events(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    with pytest.raises(EventError, match=r"^events\[1\]\.device: "):
        store.apply_events(plan_id, PHONE, [tick(1), tick(1, TABLET)], NOW)
    assert store.changes_since(plan_id, 0) == ([], 0)


def test_a_checked_batch_still_may_only_hold_the_devices_own_events(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    checked = validate_batch([tick(1), tick(1, TABLET)])
    with pytest.raises(EventError, match=r"^events\[1\]\.device: "):
        store.apply_events(plan_id, PHONE, checked, NOW)
    assert store.changes_since(plan_id, 0) == ([], 0)


def test_revoked_or_unknown_device_cannot_apply_events(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    store.revoke_device(plan_id, TABLET)
    with pytest.raises(UnknownDevice):
        store.apply_events(plan_id, TABLET, [tick(1, TABLET)], NOW)
    with pytest.raises(UnknownDevice):
        store.apply_events(plan_id, "stranger-1", [tick(1, "stranger-1")], NOW)
    assert store.changes_since(plan_id, 0) == ([], 0)


def test_ticks_from_a_fast_clock_are_pulled_back_to_when_they_arrived(store, plan_id):
    store.apply_events(plan_id, PHONE, [tick(1, ts=NOW + 86_400_000)], NOW)
    # Sent again later (the answer was lost): the first stored copy stands.
    store.apply_events(plan_id, PHONE, [tick(1, ts=NOW + 86_400_000)], NOW + 9000)
    (event,) = store.changes_since(plan_id, 0)[0]
    assert event["ts"] == NOW


def test_tick_state_keeps_the_last_writer(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    ticked = tick(1, done=True, ts=NOW + 1000, item="spf")
    unticked = tick(2, TABLET, done=False, ts=NOW + 2000, item="spf")
    other_item = tick(3, item="cleanse", done=True)
    store.apply_events(plan_id, TABLET, [unticked], NOW + 3000)
    store.apply_events(plan_id, PHONE, [ticked, other_item], NOW + 3000)
    assert store.tick_state(plan_id) == {
        ("2026-01-01", "spf"): unticked,
        ("2026-01-01", "cleanse"): other_item,
    }


def test_reading_an_unknown_plans_ticks_raises(store):
    for read in (store.tick_state, store.export_plan, store.list_devices):
        with pytest.raises(PlanNotFound):
            read(PLAN_ID)
    with pytest.raises(PlanNotFound):
        store.changes_since(PLAN_ID, 0)


def test_export_holds_everything_but_secrets(store, plan_id):
    store.add_device(plan_id, TABLET, TABLET_HASH, NOW)
    store.add_join_token(plan_id, "token-hash-1", NOW + 600_000)
    store.apply_events(plan_id, PHONE, [tick(1), tick(2)], NOW)
    store.set_calendar_link(plan_id, "feed-hash-1", True, NOW, made_by=TABLET)
    endpoint = "https://push.example/send/secret-endpoint-1"
    subscription = {"endpoint": endpoint, "keys": {"p256dh": "key-p256dh", "auth": "key-auth"}}
    prefs = due.check_prefs({"daily_time": "19:00"})
    store.set_push(plan_id, TABLET, subscription, prefs, NOW)
    assert store.claim_reminder(plan_id, "session-1-day-before", TABLET, NOW)
    exported = store.export_plan(plan_id)
    assert exported["plan_id"] == plan_id
    assert exported["plan"] == PLAN
    assert exported["created_ms"] == NOW
    assert [(d["device"], d["credential"]) for d in exported["devices"]] == [
        (PHONE, "present"),
        (TABLET, "present"),
    ]
    assert exported["events"] == [tick(1), tick(2)]
    assert exported["device_links"] == [
        {"expires_ms": NOW + 600_000, "used_ms": None, "key": "present"}
    ]
    assert exported["calendar_link"] == {
        "explicit_titles": True,
        "made_ms": NOW,
        "made_by": TABLET,
        "key": "present",
    }
    assert exported["push"] == [
        {
            "device": TABLET,
            "prefs": prefs,
            "added_ms": NOW,
            "failures": 0,
            "retry_ms": 0,
            "subscription": "present",
        }
    ]
    assert exported["reminders_sent"] == [
        {"key": "session-1-day-before", "device": TABLET, "sent_ms": NOW}
    ]
    text = json.dumps(exported)
    for secret in (PHONE_HASH, TABLET_HASH, "token-hash-1", "feed-hash-1", endpoint, "key-auth"):
        assert secret not in text
    # Every table of the plan is in the export: none can be added and forgotten.
    assert stored_tables(store, plan_id) <= set(storage.EXPORTED_AS)
    assert {*storage.EXPORTED_AS.values(), "events"} <= set(exported)


def stored_tables(store, plan_id: str) -> set[str]:
    """The tables that hold something of the plan, by the export's names for them."""
    if isinstance(store, FilePlanStore):
        with store.files.reading(plan_id) as tdb:
            return {name for name in tdb.tables() if not plan_events.is_event_table(name)}
    file_names = {exported: name for name, exported in storage.EXPORTED_AS.items()}
    # A plan's tables: plans itself, and every table whose rows go with a plan.
    tables = {
        table.name
        for table in postgres_schema.metadata.sorted_tables
        if table.name == "plans"
        or any(key.column.table.name == "plans" for key in table.foreign_keys)
    } - {"events"}
    assert tables == set(POSTGRES_EXPORTED_AS), "a table the export does not name"
    return {file_names[POSTGRES_EXPORTED_AS[name]] for name in tables}


# The PostgreSQL table behind each part of the export.
POSTGRES_EXPORTED_AS = {
    "plans": "plan",
    "devices": "devices",
    "join_tokens": "device_links",
    "calendar_links": "calendar_link",
    "push_subscriptions": "push",
    "reminders_sent": "reminders_sent",
}


# Hostile plan ids

HOSTILE_IDS = ["../x", "", "a/b", "x" * 65, "../../etc/passwd-0000", ".hidden-0123456789", None]

EVERY_PLAN_FUNCTION = {
    "create_plan": lambda s, p: s.create_plan(p, {}, PHONE, PHONE_HASH, NOW),
    "get_plan": lambda s, p: s.get_plan(p),
    "update_plan": lambda s, p: s.update_plan(p, {}),
    "delete_plan": lambda s, p: s.delete_plan(p),
    "add_device": lambda s, p: s.add_device(p, TABLET, TABLET_HASH, NOW),
    "revoke_device": lambda s, p: s.revoke_device(p, PHONE),
    "list_devices": lambda s, p: s.list_devices(p),
    "add_join_token": lambda s, p: s.add_join_token(p, "token-hash-1", NOW),
    "apply_events": lambda s, p: s.apply_events(p, PHONE, [tick(1)], NOW),
    "changes_since": lambda s, p: s.changes_since(p, 0),
    "tick_state": lambda s, p: s.tick_state(p),
    "export_plan": lambda s, p: s.export_plan(p),
    "plan_exists": lambda s, p: s.plan_exists(p),
}


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("call", EVERY_PLAN_FUNCTION.values(), ids=EVERY_PLAN_FUNCTION.keys())
def test_hostile_plan_id_is_refused_before_touching_disk(tmp_path, call, hostile):
    store = FilePlanStore(tmp_path / "plans")
    with pytest.raises(ValueError, match="plan id"):
        call(store, hostile)
    assert files_in(store) == []
    assert sorted(os.listdir(tmp_path)) == ["plans"]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_hostile_plan_id_fails_the_gates_quietly(store, hostile):
    assert store.device_is_valid(hostile, PHONE, PHONE_HASH) is False
    assert store.redeem_join_token(hostile, "token-hash-1", NOW) is False
    assert files_in(store) == []


# The store itself


@pytest.mark.files
def test_a_block_that_raises_writes_nothing(store, plan_id):
    with pytest.raises(RuntimeError, match="boom"):
        with store.files.locked(plan_id) as tdb:
            tdb.table("plan").update({"plan": {"changed": True}})
            raise RuntimeError("boom")
    assert store.get_plan(plan_id) == PLAN


@pytest.mark.files
def test_reading_block_cannot_write(store, plan_id):
    with store.files.reading(plan_id) as tdb:
        with pytest.raises(RuntimeError, match="read-only"):
            tdb.table("plan").update({"plan": {}})
    assert store.get_plan(plan_id) == PLAN


@pytest.mark.files
def test_a_held_lock_times_out_with_store_busy(store, plan_id):
    store.files.lock_timeout_s = 0.2
    with store.files.locked(plan_id):
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            with store.files.locked(plan_id):
                pass
        assert 0.15 < time.monotonic() - started < 5
    # Readers do not wait for the lock.
    with store.files.locked(plan_id):
        assert store.get_plan(plan_id) == PLAN


def test_threads_applying_events_lose_nothing(store, plan_id):
    devices = [f"device-{n:04d}" for n in range(4)]
    for device in devices:
        store.add_device(plan_id, device, "h", NOW)
    cursors: list[int] = []

    def sync(device):
        for n in range(25):
            cursors.append(store.apply_events(plan_id, device, [tick(n, device)], NOW))

    threads = [threading.Thread(target=sync, args=(device,)) for device in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(cursors) == list(range(1, 101))
    events, cursor = store.changes_since(plan_id, 0)
    assert cursor == 100
    assert len({event["id"] for event in events}) == 100


def test_atomic_storage_reads_missing_or_empty_file_as_none(tmp_path):
    path = tmp_path / "plan.json"
    assert AtomicJSONStorage(path).read() is None
    path.write_text("")
    assert AtomicJSONStorage(path).read() is None
    assert os.listdir(tmp_path) == ["plan.json"]


def test_atomic_storage_replaces_the_file_whole_and_privately(tmp_path):
    path = tmp_path / "plan.json"
    file_storage = AtomicJSONStorage(path)
    file_storage.write({"events": {"1": {"done": False}}})
    file_storage.write({"events": {"1": {"done": True}}})
    assert json.loads(path.read_text()) == {"events": {"1": {"done": True}}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(TypeError):
        file_storage.write({"events": {"1": {"when": datetime.date(2026, 1, 1)}}})
    assert json.loads(path.read_text()) == {"events": {"1": {"done": True}}}
    assert os.listdir(tmp_path) == ["plan.json"]


def test_each_table_has_a_line_and_is_parsed_only_when_asked_for(tmp_path):
    path = tmp_path / "plan.json"
    file_storage = AtomicJSONStorage(path)
    file_storage.write({"plan": {"1": {"seq": 1}}, "events": {"1": {"done": True}}})
    assert path.read_text() == '{"plan":{"1":{"seq":1}}}\n{"events":{"1":{"done":true}}}\n'
    # A table read and left alone is written back as the text it was read from.
    path.write_text('{"plan":{"1":{"seq":1}}}\n{"events":  {"1": {"done": true}}}\n')
    tables = file_storage.read()
    assert tables["plan"] == {"1": {"seq": 1}}
    tables["plan"] = {"1": {"seq": 2}}
    file_storage.write(tables)
    assert path.read_text() == '{"plan":{"1":{"seq":2}}}\n{"events":  {"1": {"done": true}}}\n'
    assert load_file(path) == {"plan": {"1": {"seq": 2}}, "events": {"1": {"done": True}}}


def test_a_table_parsed_from_the_same_text_is_shared_and_never_from_other_text():
    text = b'{"plan":{"1":{"seq":1}}}\n{"events":{"1":{"done":true}}}\n'
    seen = Tables(text)
    assert seen["events"] == {"1": {"done": True}}
    same = Tables(text)
    same.reuse(seen, "events")
    assert same["events"] is seen["events"]
    changed = Tables(text.replace(b"true", b"false"))
    changed.reuse(seen, "events")
    assert changed["events"] == {"1": {"done": False}}
    unparsed = Tables(text)
    unparsed.reuse(Tables(text), "events")  # nothing parsed there to share
    assert unparsed["events"] == {"1": {"done": True}}


def big_file(path: Path) -> dict:
    """A store file whose events line lies far past the head a reader takes first."""
    tables = {
        "plan": {"1": {"seq": 3}},
        "events": {str(n): {"id": f"event-{n:06d}", "pad": "x" * 100} for n in range(2000)},
        "devices": {"1": {"device": PHONE}},
    }
    AtomicJSONStorage(path).write(tables)
    assert path.stat().st_size > 3 * table_file.HEAD_BYTES
    return tables


def test_tables_are_written_smallest_first_and_the_rest_read_only_when_asked_for(tmp_path):
    path = tmp_path / "plan.json"
    tables = big_file(path)
    assert [line.split(b'"')[1] for line in path.read_bytes().splitlines()] == [
        b"plan",
        b"devices",
        b"events",
    ]
    read = AtomicJSONStorage(path).read()
    assert read["devices"] == tables["devices"] and "plan" in read
    assert read._rest is not None, "the small tables came from the head alone"
    assert read["events"] == tables["events"]
    assert read._rest is None
    assert load_file(path) == tables


def test_the_rest_comes_from_the_version_whose_head_was_read(tmp_path):
    path = tmp_path / "plan.json"
    tables = big_file(path)
    read = AtomicJSONStorage(path).read()
    assert read["plan"] == {"1": {"seq": 3}}
    # A writer replaces the file between the head and the rest.
    AtomicJSONStorage(path).write({**tables, "events": {}, "plan": {"1": {"seq": 4}}})
    assert read["events"] == tables["events"]
    assert AtomicJSONStorage(path).read()["events"] == {}


def test_a_table_set_after_reading_the_head_keeps_every_other_line(tmp_path):
    path = tmp_path / "plan.json"
    tables = big_file(path)
    read = AtomicJSONStorage(path).read()
    read["plan"] = {"1": {"seq": 5}}
    AtomicJSONStorage(path).write(read)
    assert load_file(path) == {**tables, "plan": {"1": {"seq": 5}}}


def test_reads_that_stop_at_the_head_leave_no_file_open(tmp_path):
    path = tmp_path / "plan.json"
    big_file(path)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(200):
        assert AtomicJSONStorage(path).read()["plan"]
    assert len(os.listdir("/proc/self/fd")) <= before


def test_a_file_from_before_table_lines_is_read_whole_and_written_in_lines(tmp_path):
    store = FilePlanStore(tmp_path)
    old = {"plan": {"1": {"plan": {}, "seq": 0, "created_ms": NOW}}, "devices": {}}
    (tmp_path / f"{PLAN_ID}.json").write_text(json.dumps(old))
    assert store.get_plan(PLAN_ID) == {}
    store.add_device(PLAN_ID, TABLET, TABLET_HASH, NOW)
    lines = (tmp_path / f"{PLAN_ID}.json").read_text().splitlines()
    assert [line.split('"')[1] for line in lines] == ["plan", "devices"]
    assert [d["device"] for d in store.list_devices(PLAN_ID)] == [TABLET]


def test_stale_temp_files_are_swept(tmp_path):
    store = FilePlanStore(tmp_path)
    store.create_plan(PLAN_ID, {}, PHONE, PHONE_HASH, NOW)
    stale = tmp_path / ".tmp-abandoned.json"
    stale.write_text('{"half": ')
    fresh = tmp_path / ".tmp-in-flight.json"
    fresh.write_text("{")
    os.utime(stale, (time.time() - 120, time.time() - 120))
    assert store.plan_ids() == [PLAN_ID]
    assert store.files.remove_stale_temp_files(older_than_s=60) == 1
    assert not stale.exists() and fresh.exists()


def test_file_store_needs_a_folder_or_memory(tmp_path):
    with pytest.raises(ValueError):
        Store()
    with pytest.raises(ValueError):
        Store(tmp_path, memory=True)


# Several processes on one folder (what gunicorn's workers do)

WORKER = """
import json, sys, time
from pwa import storage
from pwa.storage import FilePlanStore
from pwa.storage.table_file import Tables

folder, plan_id, device, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = FilePlanStore(folder)
print("ready", flush=True)
sys.stdin.readline()
cursors = []
for n in range(count):
    event = {"id": f"{device}-{n:05d}", "device": device, "counter": n,
             "ts": int(time.time() * 1000) - 1, "day": "2026-01-01", "item": f"{device}-{n}",
             "done": n % 2 == 0}
    now = int(time.time() * 1000)
    cursors.append(store.apply_events(plan_id, device, [event], now))
print(json.dumps(cursors), flush=True)
"""


def run_workers(folder: Path, jobs: list[tuple[str, str]], count: int) -> list[list[int]]:
    """Start one process per (plan id, device), let all go at once, return their cursors."""
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, str(folder), plan, device, str(count)],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            for plan, device in jobs
        ]
        # Popen's exit waits for the process; make sure none is left waiting for "go".
        stack.callback(lambda: [w.kill() for w in workers if w.poll() is None])
        for worker in workers:
            assert worker.stdout.readline() == "ready\n"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.stdout.read() for worker in workers]
        codes = [worker.wait(timeout=120) for worker in workers]
    assert codes == [0] * len(workers)
    return [json.loads(output) for output in outputs]


def check_plan_file(store: FilePlanStore, plan_id: str, expected: int) -> None:
    load_file(store.files.folder / f"{plan_id}.json")  # raises if a write tore the file
    events, cursor = store.changes_since(plan_id, 0)
    assert cursor == len(events) == expected
    assert len({event["id"] for event in events}) == expected


def test_processes_syncing_one_plan_lose_nothing(tmp_path):
    store = FilePlanStore(tmp_path)
    devices = [f"device-{n:04d}" for n in range(4)]
    store.create_plan(PLAN_ID, {}, devices[0], "h", NOW)
    for device in devices[1:]:
        store.add_device(PLAN_ID, device, "h", NOW)
    cursors = run_workers(tmp_path, [(PLAN_ID, device) for device in devices], 200)
    # Each call added one new event, so every call must have seen a cursor no other call saw.
    for mine in cursors:
        assert mine == sorted(mine)
    assert sorted(c for mine in cursors for c in mine) == list(range(1, 801))
    check_plan_file(store, PLAN_ID, 800)


def test_processes_syncing_different_plans_lose_nothing(tmp_path):
    store = FilePlanStore(tmp_path)
    plans = [f"plan-{n:04d}-0123456789ab" for n in range(4)]
    for plan in plans:
        store.create_plan(plan, {}, "device-0000", "h", NOW)
    cursors = run_workers(tmp_path, [(plan, "device-0000") for plan in plans], 200)
    assert cursors == [list(range(1, 201))] * 4
    for plan in plans:
        check_plan_file(store, plan, 200)
    assert store.plan_ids() == plans
