"""A plan's events kept a table per month (pwa/plan_events.py): the merge's properties hold
over the real layout, a write touches only the months it ticks, an up-to-date device
parses no event table, and a file from before the layout is read and then split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_merge import batches_of
from test_merge import mixed_events
from test_merge import properties
from test_merge import read_now_and_then
from test_merge import without_seq

from pwa.care.merge import merge
from pwa.care.merge import merge_sessions
from pwa.storage import FilePlanStore
from pwa.storage import plan_events
from pwa.storage.table_file import AtomicJSONStorage
from pwa.storage.table_file import load_file

# Three months, so that boxes fall in different tables.
MONTH_DAYS = ["2026-01-31", "2026-02-01", "2026-02-28", "2026-03-01"]
PLAN_ID = "plan-0123456789abcdef"
PHONE = "phone-0001"
NOW = 1_767_225_600_000


EVENTS = mixed_events(MONTH_DAYS)


def serve(batches: list[list[dict]]) -> list[list[dict]]:
    """What plan_events keeps after each batch: every event in every table, by seq."""
    tables: dict = {}
    meta = {"seq": 0}
    held = []
    for batch in batches:
        change = plan_events.apply(tables, meta, batch)
        change.write_into(tables)
        meta = {"seq": change.seq, "event_tables": change.index}
        events = plan_events.PlanEvents(tables, meta)
        held.append(events.after(0))
        assert change.held == len(held[-1])
    return held


@properties
@given(EVENTS, st.data())
def test_the_tables_keep_the_merge_of_everything_sent(evts, data):
    held = serve(batches_of(evts, data))
    kept = without_seq(held[-1]) if held else []
    assert merge({}, kept) == merge({}, evts)
    assert merge_sessions({}, kept) == merge_sessions({}, evts)
    assert len([e for e in kept if "item" in e]) == len(
        {(e["day"], e["item"]) for e in evts if "item" in e}
    )


@properties
@given(EVENTS, st.data())
def test_a_device_that_reads_from_its_cursor_reaches_the_servers_state(evts, data):
    phone = read_now_and_then(serve(batches_of(evts, data)), data)
    assert merge({}, without_seq(phone)) == merge({}, evts)
    assert merge_sessions({}, without_seq(phone)) == merge_sessions({}, evts)


@properties
@given(EVENTS, st.data())
def test_a_limited_read_starts_as_the_whole_read_does(evts, data):
    tables: dict = {}
    meta = {"seq": 0}
    for batch in batches_of(evts, data):
        change = plan_events.apply(tables, meta, batch)
        change.write_into(tables)
        meta = {"seq": change.seq, "event_tables": change.index}
    cursor = data.draw(st.integers(0, max(meta["seq"], 0)), label="cursor")
    limit = data.draw(st.integers(1, 10), label="limit")
    events = plan_events.PlanEvents(tables, meta)
    whole, limited = events.after(cursor), events.after(cursor, limit)
    assert limited[: limit + 1] == whole[: limit + 1]
    assert (len(limited) > limit) == (len(whole) > limit)


def tick(n: int, day: str, item: str = "") -> dict:
    return {
        "id": f"tick-{n:05d}",
        "device": PHONE,
        "counter": n,
        "ts": NOW - 10_000 + n,
        "day": day,
        "item": item or f"item-{n}",
        "done": True,
    }


def plan_with_two_months(tmp_path) -> tuple[FilePlanStore, list[dict]]:
    store = FilePlanStore(tmp_path)
    store.create_plan(PLAN_ID, {}, PHONE, "a1" * 32, NOW)
    sent = [tick(n, "2026-01-15") for n in range(1, 40)] + [tick(40, "2026-02-01")]
    store.apply_events(PLAN_ID, PHONE, sent, NOW)
    return store, sent


def lines(store: FilePlanStore) -> dict[str, bytes]:
    raw = (store.files.folder / f"{PLAN_ID}.json").read_bytes().splitlines()
    return {line.split(b'"')[1].decode(): line for line in raw}


def test_a_write_rewrites_only_the_months_it_ticks(tmp_path):
    store, sent = plan_with_two_months(tmp_path)
    before = lines(store)
    assert {"ticks-2026-01", "ticks-2026-02"} <= set(before)
    store.apply_events(PLAN_ID, PHONE, [tick(41, "2026-02-02")], NOW)
    after = lines(store)
    assert after["ticks-2026-01"] == before["ticks-2026-01"]
    assert after["ticks-2026-02"] != before["ticks-2026-02"]
    events, cursor = store.changes_since(PLAN_ID, 0)
    assert events == [*sent, tick(41, "2026-02-02")] and cursor == 41


def test_an_up_to_date_device_parses_no_event_table_and_a_new_tick_only_its_month(tmp_path):
    store, sent = plan_with_two_months(tmp_path)
    path = store.files.folder / f"{PLAN_ID}.json"
    # January's line made unreadable: nothing below may parse it.
    raw = path.read_bytes().splitlines()
    january = b'{"ticks-2026-01":'
    raw = [january + b" not JSON" if line.startswith(january) else line for line in raw]
    path.write_bytes(b"\n".join(raw) + b"\n")

    seen = store.snapshot(PLAN_ID)
    assert seen.page(40).events == [] and seen.page(40).cursor == 40
    assert seen.session_events() == []
    february = tick(41, "2026-02-03")
    page = store.apply_and_read(PLAN_ID, PHONE, [february], NOW, cursor=40, seen=seen)
    assert page.events == [february] and page.cursor == 41
    # A replay of an event the plan holds is found in its own month, without a write.
    again = store.snapshot(PLAN_ID)
    assert not again.needs_write(PHONE, [february], NOW)


def test_a_file_from_before_the_month_tables_is_read_and_then_split(tmp_path):
    store = FilePlanStore(tmp_path)
    sent = [tick(1, "2026-01-15"), tick(2, "2026-02-01"), tick(3, "2026-02-01", "item-2")]
    session = {
        "id": "session-001",
        "device": PHONE,
        "counter": 9,
        "ts": NOW - 5,
        "session": "s1",
        "day": "2026-03-01",
        "time": None,
        "status": "planned",
    }
    older = {
        "plan": {"1": {"plan": {}, "seq": 4, "created_ms": NOW}},
        "devices": {
            "1": {
                "device": PHONE,
                "name": "",
                "credential_hash": "a1" * 32,
                "added_ms": NOW,
                "last_seen_ms": NOW,
                "revoked": False,
            }
        },
        "events": {
            str(n): {**event, "seq": n} for n, event in enumerate([*sent, session], start=1)
        },
    }
    AtomicJSONStorage(store.files.folder / f"{PLAN_ID}.json").write(older)
    # Read as it is: tick 2 was outranked by tick 3 (same box, later) and both are there.
    assert store.changes_since(PLAN_ID, 0) == ([*sent, session], 4)
    assert store.session_events(PLAN_ID) == [session]
    assert len(store.export_plan(PLAN_ID)["events"]) == 4

    store.apply_events(PLAN_ID, PHONE, [tick(5, "2026-01-16")], NOW)
    tables = load_file(store.files.folder / f"{PLAN_ID}.json")
    assert "events" not in tables
    assert {"ticks-2026-01", "ticks-2026-02", "sessions"} <= set(tables)
    events, cursor = store.changes_since(PLAN_ID, 0)
    assert events == [*sent, session, tick(5, "2026-01-16")] and cursor == 5
    meta = tables["plan"]["1"]
    assert meta["event_tables"]["ticks-2026-01"] == [1, 5, 2]
    assert meta["event_tables"]["sessions"] == [4, 4, 1]


def test_a_page_parses_only_the_months_it_is_drawn_from(tmp_path):
    store, sent = plan_with_two_months(tmp_path)
    path = store.files.folder / f"{PLAN_ID}.json"
    february = b'{"ticks-2026-02":'
    raw = path.read_bytes().splitlines()
    raw = [february + b" not JSON" if line.startswith(february) else line for line in raw]
    path.write_bytes(b"\n".join(raw) + b"\n")
    # January holds seqs 1-39, February 40: a page of 10 (or 38) from the start needs January only.
    seen = store.snapshot(PLAN_ID)
    first = seen.page(0, limit=10)
    assert first.events == sent[:10] and first.more and first.cursor == 10
    assert seen.page(first.cursor, limit=28).events == sent[10:38]


def test_a_retried_batch_whose_loser_was_never_stored_needs_no_write(tmp_path):
    store = FilePlanStore(tmp_path)
    store.create_plan(PLAN_ID, {}, PHONE, "a1" * 32, NOW)
    # A tap and a later untap of one box in one batch: only the untap is stored.
    batch = [tick(1, "2026-02-01", "box"), {**tick(2, "2026-02-01", "box"), "done": False}]
    store.apply_events(PLAN_ID, PHONE, batch, NOW)
    assert [e["id"] for e in store.changes_since(PLAN_ID, 0)[0]] == [batch[1]["id"]]
    # The same batch again (its answer was lost): nothing in it would be stored, so the
    # sync answers from its snapshot without taking the plan's lock.
    assert not store.snapshot(PLAN_ID).needs_write(PHONE, batch, NOW)
    assert store.snapshot(PLAN_ID).needs_write(PHONE, [tick(3, "2026-02-01")], NOW)
