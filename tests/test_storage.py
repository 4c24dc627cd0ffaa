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
from pwa.storage import PlanExists
from pwa.storage import PlanNotFound
from pwa.storage import StoreBusy
from pwa.storage import UnknownDevice
from pwa.storage import plan_events
from pwa.storage import table_file
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


@pytest.fixture(params=["memory", "json"])
def store(request, tmp_path):
    """Every test that takes `store` runs twice: TinyDB's MemoryStorage, then JSON files."""
    if request.param == "memory":
        return Store(memory=True)
    return Store(tmp_path / "plans")


@pytest.fixture
def plan_id(store):
    storage.create_plan(store, PLAN_ID, dict(PLAN), PHONE, PHONE_HASH, NOW)
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


def files_in(store: Store) -> list[str]:
    return sorted(os.listdir(store.folder)) if store.folder else []


# Plans


def test_created_plan_can_be_read_back(store, plan_id):
    assert store.exists(plan_id)
    assert storage.get_plan(store, plan_id) == PLAN
    assert store.plan_ids() == [plan_id]


def test_unknown_plan_reads_as_none(store):
    assert storage.get_plan(store, PLAN_ID) is None
    assert not store.exists(PLAN_ID)
    assert store.plan_ids() == []


def test_creating_a_plan_twice_is_refused(store, plan_id):
    with pytest.raises(PlanExists):
        storage.create_plan(store, plan_id, {"other": True}, TABLET, TABLET_HASH, NOW)
    assert storage.get_plan(store, plan_id) == PLAN
    assert not storage.device_is_valid(store, plan_id, TABLET, TABLET_HASH)


def test_update_plan_sets_keys_and_returns_the_plan(store, plan_id):
    updated = storage.update_plan(store, plan_id, {"version": 4, "sessions": ["2026-02-01"]})
    assert updated == {**PLAN, "version": 4, "sessions": ["2026-02-01"]}
    assert storage.get_plan(store, plan_id) == updated


def test_update_of_unknown_plan_raises(store):
    with pytest.raises(PlanNotFound):
        storage.update_plan(store, PLAN_ID, {"version": 4})
    assert files_in(store) == []


def test_plans_are_stored_apart(store, plan_id):
    storage.create_plan(store, OTHER_PLAN_ID, {"other": 1}, TABLET, TABLET_HASH, NOW)
    storage.apply_events(store, plan_id, PHONE, [tick(1)], NOW)
    assert storage.changes_since(store, OTHER_PLAN_ID, 0) == ([], 0)
    assert not storage.device_is_valid(store, OTHER_PLAN_ID, PHONE, PHONE_HASH)
    assert store.plan_ids() == sorted([plan_id, OTHER_PLAN_ID])


def test_deleted_plan_is_gone_and_stays_gone(store, plan_id):
    storage.apply_events(store, plan_id, PHONE, [tick(1)], NOW)
    assert storage.delete_plan(store, plan_id) is True
    assert storage.get_plan(store, plan_id) is None
    assert not store.exists(plan_id)
    assert not storage.device_is_valid(store, plan_id, PHONE, PHONE_HASH)
    assert storage.delete_plan(store, plan_id) is False
    # A sync that was waiting behind the delete must not bring the plan back.
    with pytest.raises(PlanNotFound):
        storage.apply_events(store, plan_id, PHONE, [tick(2)], NOW)
    assert not store.exists(plan_id)
    assert not any(name.endswith(".json") for name in files_in(store))


def test_plan_must_hold_json_values_only(store):
    # The memory store is as strict as the file, so the fast leg catches this too.
    with pytest.raises(TypeError):
        storage.create_plan(store, PLAN_ID, {"start": datetime.date(2026, 1, 1)}, PHONE, "h", 0)
    assert not store.exists(PLAN_ID)


def test_failed_update_leaves_the_plan_as_it_was(store, plan_id):
    with pytest.raises(ValueError):
        storage.update_plan(store, plan_id, {"score": float("nan")})
    assert storage.get_plan(store, plan_id) == PLAN


# Devices


def test_device_is_valid_only_with_its_own_hash(store, plan_id):
    assert storage.device_is_valid(store, plan_id, PHONE, PHONE_HASH)
    assert not storage.device_is_valid(store, plan_id, PHONE, TABLET_HASH)
    assert not storage.device_is_valid(store, plan_id, PHONE, PHONE_HASH[:-1])
    assert not storage.device_is_valid(store, plan_id, PHONE, "")
    assert not storage.device_is_valid(store, plan_id, PHONE, None)
    assert not storage.device_is_valid(store, plan_id, PHONE, "é" * 64)
    assert not storage.device_is_valid(store, plan_id, TABLET, PHONE_HASH)
    assert not storage.device_is_valid(store, OTHER_PLAN_ID, PHONE, PHONE_HASH)
    assert not storage.device_is_valid(store, "../" + plan_id, PHONE, PHONE_HASH)


def test_added_device_is_valid_until_revoked(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW + 5)
    assert storage.device_is_valid(store, plan_id, TABLET, TABLET_HASH)
    assert not storage.device_is_valid(store, plan_id, TABLET, PHONE_HASH)
    assert storage.revoke_device(store, plan_id, TABLET) is True
    assert not storage.device_is_valid(store, plan_id, TABLET, TABLET_HASH)
    assert storage.device_is_valid(store, plan_id, PHONE, PHONE_HASH)
    assert storage.revoke_device(store, plan_id, "nobody-00000") is False


def test_device_ids_are_never_reused_on_a_plan(store, plan_id):
    with pytest.raises(DeviceExists):
        storage.add_device(store, plan_id, PHONE, TABLET_HASH, NOW)
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    storage.revoke_device(store, plan_id, TABLET)
    with pytest.raises(DeviceExists):
        storage.add_device(store, plan_id, TABLET, "new-hash", NOW)
    assert not storage.device_is_valid(store, plan_id, TABLET, "new-hash")


@pytest.mark.parametrize(
    ("device_id", "credential_hash"),
    [("short", "h"), ("phone 0001", "h"), (None, "h"), (TABLET, ""), (TABLET, None)],
)
def test_malformed_device_is_refused(store, plan_id, device_id, credential_hash):
    with pytest.raises(ValueError):
        storage.add_device(store, plan_id, device_id, credential_hash, NOW)


def test_adding_a_device_to_an_unknown_plan_raises(store):
    with pytest.raises(PlanNotFound):
        storage.add_device(store, PLAN_ID, TABLET, TABLET_HASH, NOW)


def test_list_devices_shows_no_credential_hashes(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW + 5)
    storage.revoke_device(store, plan_id, TABLET)
    assert storage.list_devices(store, plan_id) == [
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
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    storage.apply_events(store, plan_id, PHONE, [tick(1)], NOW + 60_000)
    storage.apply_events(store, plan_id, PHONE, [tick(1)], NOW + 120_000)
    seen = {d["device"]: d["last_seen_ms"] for d in storage.list_devices(store, plan_id)}
    assert seen == {PHONE: NOW + 120_000, TABLET: NOW}


# Join tokens


def test_join_token_can_be_redeemed_once(store, plan_id):
    storage.add_join_token(store, plan_id, "token-hash-1", NOW + 600_000)
    assert storage.redeem_join_token(store, plan_id, "token-hash-1", NOW) is True
    assert storage.redeem_join_token(store, plan_id, "token-hash-1", NOW) is False


def test_join_token_expires(store, plan_id):
    storage.add_join_token(store, plan_id, "token-hash-1", NOW + 600_000)
    assert storage.redeem_join_token(store, plan_id, "token-hash-1", NOW + 600_000) is False
    storage.add_join_token(store, plan_id, "token-hash-2", NOW + 600_000)
    assert storage.redeem_join_token(store, plan_id, "token-hash-2", NOW + 599_999) is True


def test_unknown_join_token_or_plan_is_refused(store, plan_id):
    storage.add_join_token(store, plan_id, "token-hash-1", NOW + 600_000)
    assert storage.redeem_join_token(store, plan_id, "token-hash-2", NOW) is False
    assert storage.redeem_join_token(store, OTHER_PLAN_ID, "token-hash-1", NOW) is False
    assert storage.redeem_join_token(store, "../x", "token-hash-1", NOW) is False
    assert storage.redeem_join_token(store, plan_id, "token-hash-1", NOW) is True


def test_join_token_of_one_plan_does_not_work_on_another(store, plan_id):
    storage.create_plan(store, OTHER_PLAN_ID, {}, TABLET, TABLET_HASH, NOW)
    storage.add_join_token(store, OTHER_PLAN_ID, "token-hash-1", NOW + 600_000)
    assert storage.redeem_join_token(store, plan_id, "token-hash-1", NOW) is False


def test_probing_unknown_plans_leaves_no_files(store):
    assert not storage.device_is_valid(store, PLAN_ID, PHONE, PHONE_HASH)
    assert not storage.redeem_join_token(store, PLAN_ID, "token-hash-1", NOW)
    assert storage.get_plan(store, PLAN_ID) is None
    assert files_in(store) == []


# Ticks


def test_apply_events_numbers_new_events_and_returns_the_cursor(store, plan_id):
    assert storage.apply_events(store, plan_id, PHONE, [tick(1), tick(2)], NOW) == 2
    assert storage.apply_events(store, plan_id, PHONE, [tick(3)], NOW) == 3
    events, cursor = storage.changes_since(store, plan_id, 0)
    assert cursor == 3
    assert events == [tick(1), tick(2), tick(3)]


def test_apply_events_is_idempotent(store, plan_id):
    batch = [tick(n) for n in range(1, 6)]
    first = storage.apply_events(store, plan_id, PHONE, batch, NOW)
    again = storage.apply_events(store, plan_id, PHONE, batch, NOW)
    assert first == again == 5
    # A retry that overlaps the last batch numbers only what is new.
    assert storage.apply_events(store, plan_id, PHONE, [tick(5), tick(6), tick(1)], NOW) == 6
    events, cursor = storage.changes_since(store, plan_id, 0)
    assert [e["id"] for e in events] == [tick(n)["id"] for n in range(1, 7)]
    assert cursor == 6


def test_a_write_after_the_requests_snapshot_is_never_lost(store, plan_id):
    # The sync view reads a snapshot, then applies its batch under the lock, reusing the
    # snapshot's parsed events only if the file still holds the very same text.
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    storage.apply_events(store, plan_id, PHONE, [tick(1)], NOW)
    seen = storage.snapshot(store, plan_id)
    assert [e["id"] for e in seen.page(0).events] == [tick(1)["id"]]
    storage.apply_events(store, plan_id, TABLET, [tick(2, device=TABLET)], NOW)
    page = storage.apply_and_read(store, plan_id, PHONE, [tick(3)], NOW, cursor=0, seen=seen)
    assert [e["id"] for e in page.events] == [
        tick(1)["id"],
        tick(2, device=TABLET)["id"],
        tick(3)["id"],
    ]
    assert page.cursor == 3
    events, _ = storage.changes_since(store, plan_id, 0)
    assert events == [tick(1), tick(2, device=TABLET), tick(3)]
    # The snapshot itself is left as it was read.
    assert [e["id"] for e in seen.tables[JANUARY].values()] == [tick(1)["id"]]


def test_a_snapshot_of_the_same_file_lends_its_events_to_the_write(store, plan_id):
    storage.apply_events(store, plan_id, PHONE, [tick(1), tick(2, item="box")], NOW)
    seen = storage.snapshot(store, plan_id)
    assert len(seen.page(0).events) == 2
    # An edit of box's tick: it replaces the stored one, in the table the write builds anew.
    edit = tick(3, item="box", ts=NOW)
    page = storage.apply_and_read(store, plan_id, PHONE, [edit], NOW, cursor=2, seen=seen)
    assert page.events == [edit] and page.cursor == 3
    assert storage.changes_since(store, plan_id, 0)[0] == [tick(1), edit]
    # The write replaced the table it shared with the snapshot, and left the snapshot's alone.
    assert [e["id"] for e in seen.tables[JANUARY].values()] == [tick(1)["id"], tick(2)["id"]]


def test_changes_since_returns_only_newer_events_in_order(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    storage.apply_events(store, plan_id, PHONE, [tick(1), tick(2)], NOW)
    storage.apply_events(store, plan_id, TABLET, [tick(1, TABLET)], NOW)
    storage.apply_events(store, plan_id, PHONE, [tick(3)], NOW)
    assert storage.changes_since(store, plan_id, 2) == ([tick(1, TABLET), tick(3)], 4)
    assert storage.changes_since(store, plan_id, 4) == ([], 4)
    assert storage.changes_since(store, plan_id, 99) == ([], 4)


@pytest.mark.parametrize("cursor", [-1, "0", 1.5, None, True])
def test_changes_since_needs_a_whole_number_cursor(store, plan_id, cursor):
    with pytest.raises(ValueError):
        storage.changes_since(store, plan_id, cursor)


def test_events_without_internal_fields(store, plan_id):
    storage.apply_events(store, plan_id, PHONE, [tick(1)], NOW)
    (event,) = storage.changes_since(store, plan_id, 0)[0]
    assert set(event) == {"id", "device", "counter", "ts", "day", "item", "done"}


def test_a_bad_batch_stores_nothing(store, plan_id):
    with pytest.raises(EventError, match=r"^events\[1\]\.day: "):
        storage.apply_events(store, plan_id, PHONE, [tick(1), tick(2, day="2026-02-30")], NOW)
    assert storage.changes_since(store, plan_id, 0) == ([], 0)


def test_a_device_may_only_send_its_own_events(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    with pytest.raises(EventError, match=r"^events\[1\]\.device: "):
        storage.apply_events(store, plan_id, PHONE, [tick(1), tick(1, TABLET)], NOW)
    assert storage.changes_since(store, plan_id, 0) == ([], 0)


def test_a_checked_batch_still_may_only_hold_the_devices_own_events(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    checked = validate_batch([tick(1), tick(1, TABLET)])
    with pytest.raises(EventError, match=r"^events\[1\]\.device: "):
        storage.apply_events(store, plan_id, PHONE, checked, NOW)
    assert storage.changes_since(store, plan_id, 0) == ([], 0)


def test_revoked_or_unknown_device_cannot_apply_events(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    storage.revoke_device(store, plan_id, TABLET)
    with pytest.raises(UnknownDevice):
        storage.apply_events(store, plan_id, TABLET, [tick(1, TABLET)], NOW)
    with pytest.raises(UnknownDevice):
        storage.apply_events(store, plan_id, "stranger-1", [tick(1, "stranger-1")], NOW)
    assert storage.changes_since(store, plan_id, 0) == ([], 0)


def test_ticks_from_a_fast_clock_are_pulled_back_to_when_they_arrived(store, plan_id):
    storage.apply_events(store, plan_id, PHONE, [tick(1, ts=NOW + 86_400_000)], NOW)
    # Sent again later (the answer was lost): the first stored copy stands.
    storage.apply_events(store, plan_id, PHONE, [tick(1, ts=NOW + 86_400_000)], NOW + 9000)
    (event,) = storage.changes_since(store, plan_id, 0)[0]
    assert event["ts"] == NOW


def test_tick_state_keeps_the_last_writer(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    ticked = tick(1, done=True, ts=NOW + 1000, item="spf")
    unticked = tick(2, TABLET, done=False, ts=NOW + 2000, item="spf")
    other_item = tick(3, item="cleanse", done=True)
    storage.apply_events(store, plan_id, TABLET, [unticked], NOW + 3000)
    storage.apply_events(store, plan_id, PHONE, [ticked, other_item], NOW + 3000)
    assert storage.tick_state(store, plan_id) == {
        ("2026-01-01", "spf"): unticked,
        ("2026-01-01", "cleanse"): other_item,
    }


def test_reading_an_unknown_plans_ticks_raises(store):
    for read in (storage.tick_state, storage.export_plan, storage.list_devices):
        with pytest.raises(PlanNotFound):
            read(store, PLAN_ID)
    with pytest.raises(PlanNotFound):
        storage.changes_since(store, PLAN_ID, 0)


def test_export_holds_everything_but_secrets(store, plan_id):
    storage.add_device(store, plan_id, TABLET, TABLET_HASH, NOW)
    storage.add_join_token(store, plan_id, "token-hash-1", NOW + 600_000)
    storage.apply_events(store, plan_id, PHONE, [tick(1), tick(2)], NOW)
    storage.set_calendar_link(store, plan_id, "feed-hash-1", True, NOW, made_by=TABLET)
    endpoint = "https://push.example/send/secret-endpoint-1"
    subscription = {"endpoint": endpoint, "keys": {"p256dh": "key-p256dh", "auth": "key-auth"}}
    prefs = due.check_prefs({"daily_time": "19:00"})
    storage.set_push(store, plan_id, TABLET, subscription, prefs, NOW)
    assert storage.claim_reminder(store, plan_id, "session-1-day-before", TABLET, NOW)
    exported = storage.export_plan(store, plan_id)
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
    # Every table of the plan's file is in the export: none can be added and forgotten.
    with store.reading(plan_id) as tdb:
        tables = {name for name in tdb.tables() if not plan_events.is_event_table(name)}
    assert tables <= set(storage.EXPORTED_AS)
    assert {*storage.EXPORTED_AS.values(), "events"} <= set(exported)


# Hostile plan ids

HOSTILE_IDS = ["../x", "", "a/b", "x" * 65, "../../etc/passwd-0000", ".hidden-0123456789", None]

EVERY_PLAN_FUNCTION = {
    "create_plan": lambda s, p: storage.create_plan(s, p, {}, PHONE, PHONE_HASH, NOW),
    "get_plan": lambda s, p: storage.get_plan(s, p),
    "update_plan": lambda s, p: storage.update_plan(s, p, {}),
    "delete_plan": lambda s, p: storage.delete_plan(s, p),
    "add_device": lambda s, p: storage.add_device(s, p, TABLET, TABLET_HASH, NOW),
    "revoke_device": lambda s, p: storage.revoke_device(s, p, PHONE),
    "list_devices": lambda s, p: storage.list_devices(s, p),
    "add_join_token": lambda s, p: storage.add_join_token(s, p, "token-hash-1", NOW),
    "apply_events": lambda s, p: storage.apply_events(s, p, PHONE, [tick(1)], NOW),
    "changes_since": lambda s, p: storage.changes_since(s, p, 0),
    "tick_state": lambda s, p: storage.tick_state(s, p),
    "export_plan": lambda s, p: storage.export_plan(s, p),
    "store.exists": lambda s, p: s.exists(p),
}


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
@pytest.mark.parametrize("call", EVERY_PLAN_FUNCTION.values(), ids=EVERY_PLAN_FUNCTION.keys())
def test_hostile_plan_id_is_refused_before_touching_disk(tmp_path, call, hostile):
    store = Store(tmp_path / "plans")
    with pytest.raises(ValueError, match="plan id"):
        call(store, hostile)
    assert files_in(store) == []
    assert sorted(os.listdir(tmp_path)) == ["plans"]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_hostile_plan_id_fails_the_gates_quietly(store, hostile):
    assert storage.device_is_valid(store, hostile, PHONE, PHONE_HASH) is False
    assert storage.redeem_join_token(store, hostile, "token-hash-1", NOW) is False
    assert files_in(store) == []


# The store itself


def test_a_block_that_raises_writes_nothing(store, plan_id):
    with pytest.raises(RuntimeError, match="boom"):
        with store.locked(plan_id) as tdb:
            tdb.table("plan").update({"plan": {"changed": True}})
            raise RuntimeError("boom")
    assert storage.get_plan(store, plan_id) == PLAN


def test_reading_block_cannot_write(store, plan_id):
    with store.reading(plan_id) as tdb:
        with pytest.raises(RuntimeError, match="read-only"):
            tdb.table("plan").update({"plan": {}})
    assert storage.get_plan(store, plan_id) == PLAN


def test_a_held_lock_times_out_with_store_busy(store, plan_id):
    store.lock_timeout_s = 0.2
    with store.locked(plan_id):
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            with store.locked(plan_id):
                pass
        assert 0.15 < time.monotonic() - started < 5
    # Readers do not wait for the lock.
    with store.locked(plan_id):
        assert storage.get_plan(store, plan_id) == PLAN


def test_threads_applying_events_lose_nothing(store, plan_id):
    devices = [f"device-{n:04d}" for n in range(4)]
    for device in devices:
        storage.add_device(store, plan_id, device, "h", NOW)
    cursors: list[int] = []

    def sync(device):
        for n in range(25):
            cursors.append(storage.apply_events(store, plan_id, device, [tick(n, device)], NOW))

    threads = [threading.Thread(target=sync, args=(device,)) for device in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(cursors) == list(range(1, 101))
    events, cursor = storage.changes_since(store, plan_id, 0)
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
    store = Store(tmp_path)
    old = {"plan": {"1": {"plan": {}, "seq": 0, "created_ms": NOW}}, "devices": {}}
    (tmp_path / f"{PLAN_ID}.json").write_text(json.dumps(old))
    assert storage.get_plan(store, PLAN_ID) == {}
    storage.add_device(store, PLAN_ID, TABLET, TABLET_HASH, NOW)
    lines = (tmp_path / f"{PLAN_ID}.json").read_text().splitlines()
    assert [line.split('"')[1] for line in lines] == ["plan", "devices"]
    assert [d["device"] for d in storage.list_devices(store, PLAN_ID)] == [TABLET]


def test_stale_temp_files_are_swept(tmp_path):
    store = Store(tmp_path)
    storage.create_plan(store, PLAN_ID, {}, PHONE, PHONE_HASH, NOW)
    stale = tmp_path / ".tmp-abandoned.json"
    stale.write_text('{"half": ')
    fresh = tmp_path / ".tmp-in-flight.json"
    fresh.write_text("{")
    os.utime(stale, (time.time() - 120, time.time() - 120))
    assert store.plan_ids() == [PLAN_ID]
    assert store.remove_stale_temp_files(older_than_s=60) == 1
    assert not stale.exists() and fresh.exists()


def test_store_needs_a_folder_or_memory(tmp_path):
    with pytest.raises(ValueError):
        Store()
    with pytest.raises(ValueError):
        Store(tmp_path, memory=True)


# Several processes on one folder (what gunicorn's workers do)

WORKER = """
import json, sys, time
from pwa import storage
from pwa.storage.store import Store
from pwa.storage.table_file import Tables

folder, plan_id, device, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store(folder)
print("ready", flush=True)
sys.stdin.readline()
cursors = []
for n in range(count):
    event = {"id": f"{device}-{n:05d}", "device": device, "counter": n,
             "ts": int(time.time() * 1000) - 1, "day": "2026-01-01", "item": f"{device}-{n}",
             "done": n % 2 == 0}
    now = int(time.time() * 1000)
    cursors.append(storage.apply_events(store, plan_id, device, [event], now))
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


def check_plan_file(store: Store, plan_id: str, expected: int) -> None:
    load_file(store.folder / f"{plan_id}.json")  # raises if a write tore the file
    events, cursor = storage.changes_since(store, plan_id, 0)
    assert cursor == len(events) == expected
    assert len({event["id"] for event in events}) == expected


def test_processes_syncing_one_plan_lose_nothing(tmp_path):
    store = Store(tmp_path)
    devices = [f"device-{n:04d}" for n in range(4)]
    storage.create_plan(store, PLAN_ID, {}, devices[0], "h", NOW)
    for device in devices[1:]:
        storage.add_device(store, PLAN_ID, device, "h", NOW)
    cursors = run_workers(tmp_path, [(PLAN_ID, device) for device in devices], 200)
    # Each call added one new event, so every call must have seen a cursor no other call saw.
    for mine in cursors:
        assert mine == sorted(mine)
    assert sorted(c for mine in cursors for c in mine) == list(range(1, 801))
    check_plan_file(store, PLAN_ID, 800)


def test_processes_syncing_different_plans_lose_nothing(tmp_path):
    store = Store(tmp_path)
    plans = [f"plan-{n:04d}-0123456789ab" for n in range(4)]
    for plan in plans:
        storage.create_plan(store, plan, {}, "device-0000", "h", NOW)
    cursors = run_workers(tmp_path, [(plan, "device-0000") for plan in plans], 200)
    assert cursors == [list(range(1, 201))] * 4
    for plan in plans:
        check_plan_file(store, plan, 200)
    assert store.plan_ids() == plans
