"""The tick merge (properties checked with Hypothesis) and the validation of events and batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from pwa.care.merge import Batch
from pwa.care.merge import EventError
from pwa.care.merge import arrived
from pwa.care.merge import compact
from pwa.care.merge import event_order
from pwa.care.merge import merge
from pwa.care.merge import merge_sessions
from pwa.care.merge import validate_batch
from pwa.care.merge import validate_event

# No deadline: timings on a shared CI machine are too noisy for one.
properties = settings(deadline=None)

# Small pools, so that events often share a (day, item), a millisecond or a device.
DEVICES = ["phone-aaaa", "tablet-bbbb", "laptop-cccc"]
DAYS = ["2026-03-01", "2026-03-02"]
ITEMS = ["spf", "cleanse", "no_makeup"]


def events(ids: list[str], days: list[str] = DAYS) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "id": st.sampled_from(ids),
            "device": st.sampled_from(DEVICES),
            "counter": st.integers(0, 3),
            "ts": st.integers(0, 4),
            "day": st.sampled_from(days),
            "item": st.sampled_from(ITEMS),
            "done": st.booleans(),
        }
    )


# Ids drawn from a pool of 8 collide often: the merge laws must hold even for
# two different events under one id, which validation never lets through.
ANY_EVENTS = st.lists(events([f"event-{n:02d}" for n in range(8)]), max_size=30)
# What a server or phone really holds: each id names one event.
UNIQUE_EVENTS = st.lists(
    events([f"event-{n:03d}" for n in range(200)]), max_size=40, unique_by=lambda e: e["id"]
)


def reference_state(evts: list[dict]) -> dict:
    """Last writer wins, written apart from merge(): sort all, let later ones overwrite."""
    state = {}
    for event in sorted(evts, key=lambda e: (e["ts"], e["device"], e["counter"], e["id"])):
        state[(event["day"], event["item"])] = event
    return state


def event(**fields) -> dict:
    base = {
        "id": "event-0001",
        "device": "phone-aaaa",
        "counter": 1,
        "ts": 1_767_000_000_000,
        "day": "2026-03-01",
        "item": "spf",
        "done": True,
    }
    return {**base, **fields}


# The merge laws


@properties
@given(ANY_EVENTS, st.data())
def test_merge_is_commutative(evts, data):
    shuffled = data.draw(st.permutations(evts))
    assert merge({}, shuffled) == merge({}, evts)


@properties
@given(ANY_EVENTS, st.data())
def test_merge_is_associative(evts, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(evts)), max_size=5)))
    batches = [evts[a:b] for a, b in zip([0, *cuts], [*cuts, len(evts)], strict=True)]
    stepwise = {}
    for batch in batches:
        stepwise = merge(stepwise, batch)
    assert stepwise == merge({}, evts)


@properties
@given(ANY_EVENTS, ANY_EVENTS)
def test_merging_two_replicas_states_equals_merging_all_their_events(left, right):
    replica = merge({}, right)
    assert merge(merge({}, left), replica.values()) == merge({}, left + right)


@properties
@given(ANY_EVENTS)
def test_merge_is_idempotent(evts):
    once = merge({}, evts)
    assert merge(once, evts) == once
    assert merge({}, evts + evts) == once
    assert merge(once, once.values()) == once


@properties
@given(UNIQUE_EVENTS)
def test_merge_matches_the_reference_model(evts):
    assert merge({}, evts) == reference_state(evts)


@properties
@given(ANY_EVENTS, ANY_EVENTS)
def test_merge_returns_a_new_dict_and_leaves_the_state_alone(first, more):
    state = merge({}, first)
    before = dict(state)
    merge(state, more)
    assert state == before


@properties
@given(
    ts=st.integers(0, 2**53 - 1),
    counters=st.lists(st.integers(0, 2**53 - 1), min_size=2, max_size=2, unique=True),
    done=st.booleans(),
    tap_order=st.permutations([0, 1]),
)
def test_double_tap_in_one_millisecond_is_ordered_by_counter(ts, counters, done, tap_order):
    first, second = sorted(counters)
    taps = [
        event(id="tap-first", ts=ts, counter=first, done=done),
        event(id="tap-second", ts=ts, counter=second, done=not done),
    ]
    arrived = [taps[i] for i in tap_order]
    assert merge({}, arrived)[("2026-03-01", "spf")]["id"] == "tap-second"


# Clocks that can't be trusted.  A phone stamps an edit with its own clock (corrected
# by what it has learned of the server's), at least one past the newest stamp it
# knows for the box; the server pulls a stamp from the future back to the moment
# the event arrived (merge.arrived).

DAY_MS = 86_400_000


def phone_stamps(clock_readings: list[int]) -> list[int]:
    """The stamps a phone gives successive edits of one box, as static/js/lib/plan-state.js does."""
    stamps = []
    for reading in clock_readings:
        stamps.append(max(reading, stamps[-1] + 1) if stamps else reading)
    return stamps


@properties
@given(
    real_times=st.lists(st.integers(10 * DAY_MS, 20 * DAY_MS), min_size=1, max_size=12).map(sorted),
    skews=st.data(),
    cuts=st.data(),
    delays=st.data(),
    arrival_order=st.data(),
)
def test_one_devices_edits_keep_their_order_whatever_its_clock(
    real_times, skews, cuts, delays, arrival_order
):
    """Any clock (days fast or slow, changed between edits), sent in any batches that
    arrive at any later times: the edit made last wins, on every replica."""
    readings = [
        t + skews.draw(st.integers(-5 * DAY_MS, 5 * DAY_MS), label="skew") for t in real_times
    ]
    stamps = phone_stamps(readings)
    edits = [
        event(id=f"edit-{n:04d}", counter=n + 1, ts=ts, done=n % 2 == 0)
        for n, ts in enumerate(stamps)
    ]
    # Batches go in the order made; each arrives after its last edit was made.
    ends = sorted(cuts.draw(st.sets(st.integers(1, len(edits))), label="cuts") | {len(edits)})
    stored, start, arrival = [], 0, 0
    for end in ends:
        made = real_times[end - 1]
        arrival = max(arrival, made) + delays.draw(st.integers(0, 3 * DAY_MS), label="delay")
        stored += [arrived(edit, arrival) for edit in edits[start:end]]
        start = end
    shuffled = arrival_order.draw(st.permutations(stored), label="order")
    assert merge({}, shuffled)[("2026-03-01", "spf")]["id"] == edits[-1]["id"]


@properties
@given(
    fast_stamp=st.integers(0, 2**53 - 1),
    fast_arrival=st.integers(10 * DAY_MS, 20 * DAY_MS),
    later_by=st.integers(1, DAY_MS),
    other_skew=st.integers(0, 5 * DAY_MS),
    other_delay=st.integers(0, DAY_MS),
)
def test_a_fast_clock_never_outranks_an_edit_made_after_it_arrived(
    fast_stamp, fast_arrival, later_by, other_skew, other_delay
):
    """However far ahead the first phone's clock ran, an edit made on another device
    after that phone's edit reached the server wins (unless that device's clock is slow)."""
    fast = arrived(event(id="fast-0001", device="tablet-bbbb", ts=fast_stamp), fast_arrival)
    made = fast_arrival + later_by
    other = event(id="later-001", device="phone-aaaa", ts=made + other_skew, done=False)
    other = arrived(other, made + other_delay)
    for order in ([fast, other], [other, fast]):
        assert merge({}, order)[("2026-03-01", "spf")]["id"] == "later-001"


def test_arrived_pulls_back_only_a_stamp_from_the_future():
    future = event(ts=5000)
    assert arrived(future, 4000) == {**future, "ts": 4000}
    assert arrived(future, 6000) is future
    assert future["ts"] == 5000, "the event given is left alone"


MERGE_VECTORS = json.loads((Path(__file__).parent / "vectors" / "merge.json").read_text())["cases"]


def _winners_match(found: dict, expected: dict) -> None:
    assert sorted(found) == sorted(expected)
    for key, winner in expected.items():
        want = {"id": winner} if isinstance(winner, str) else winner
        assert {field: found[key][field] for field in want} == want, key


@pytest.mark.parametrize("vector", MERGE_VECTORS, ids=[v["name"] for v in MERGE_VECTORS])
def test_merge_vectors_shared_with_the_phone(vector):
    """tests/vectors/merge.json, which tests/js/merge.test.mjs runs against the phone's merge."""
    for events in (vector["events"], vector["events"][::-1]):
        ticks = {f"{day}|{item}": event for (day, item), event in merge({}, events).items()}
        _winners_match(ticks, vector["ticks"])
        _winners_match(merge_sessions({}, events), vector["sessions"])


def test_later_untick_beats_earlier_tick():
    tick = event(id="tick-0001", ts=1000, done=True)
    untick = event(id="untick-01", ts=2000, counter=0, done=False)
    for order in ([tick, untick], [untick, tick]):
        assert merge({}, order) == {("2026-03-01", "spf"): untick}


def test_same_millisecond_on_two_devices_is_ordered_by_device_id():
    phone = event(id="phone-tick", device="phone-aaaa", counter=9, done=True)
    tablet = event(id="tablet-tick", device="tablet-bbbb", counter=0, done=False)
    assert event_order(tablet) > event_order(phone)
    assert merge({}, [tablet, phone])[("2026-03-01", "spf")] is tablet
    assert merge({}, [phone, tablet])[("2026-03-01", "spf")] is tablet


def test_one_id_with_two_contents_still_merges_the_same_in_any_order():
    # Validation refuses this, but the merge must not depend on it.
    ticked, unticked = event(done=True), event(done=False)
    assert merge({}, [ticked, unticked]) == merge({}, [unticked, ticked])


def test_event_order_is_ts_device_counter_id():
    assert event_order(event()) == (1_767_000_000_000, "phone-aaaa", 1, "event-0001")


def test_ticks_on_different_days_and_items_are_kept_apart():
    evts = [
        event(id="a-000001"),
        event(id="b-000001", day="2026-03-02"),
        event(id="c-000001", item="x"),
    ]
    assert set(merge({}, evts)) == {
        ("2026-03-01", "spf"),
        ("2026-03-02", "spf"),
        ("2026-03-01", "x"),
    }


# Validation of one event


@properties
@given(
    st.fixed_dictionaries(
        {
            "id": st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True),
            "device": st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True),
            "counter": st.integers(0, 2**53 - 1),
            "ts": st.integers(0, 2**53 - 1),
            "day": st.dates().map(lambda d: d.isoformat()).filter(lambda d: len(d) == 10),
            "item": st.from_regex(r"[a-z0-9_-]{1,64}", fullmatch=True),
            "done": st.booleans(),
        }
    )
)
def test_every_well_formed_event_is_accepted_unchanged(raw):
    assert validate_event(raw) == raw


def test_validate_event_returns_a_copy():
    raw = event()
    clean = validate_event(raw)
    raw["done"] = False
    assert clean["done"] is True


def without(name):
    return lambda e: {k: v for k, v in e.items() if k != name}


def setting(name, value):
    return lambda e: {**e, name: value}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (without("day"), "day"),
        (without("done"), "done"),
        (setting("colour", "red"), "colour"),
        (setting("counter", True), "counter"),
        (setting("ts", False), "ts"),
        (setting("done", 1), "done"),
        (setting("done", "true"), "done"),
        (setting("counter", 1.0), "counter"),
        (setting("counter", 2**53), "counter"),
        (setting("ts", -1), "ts"),
        (setting("ts", "1767000000000"), "ts"),
        (setting("day", "2026-02-30"), "day"),
        (setting("day", "2026-13-01"), "day"),
        (setting("day", "2026-3-1"), "day"),
        (setting("day", "２０２６-03-01"), "day"),
        (setting("day", "2026-03-01T10:00"), "day"),
        (setting("day", 20260301), "day"),
        (setting("id", "x" * 65), "id"),
        (setting("id", "short"), "id"),
        (setting("id", "../../etc"), "id"),
        (setting("id", "event-0001\n"), "id"),
        (setting("id", 12345678), "id"),
        (setting("device", None), "device"),
        (setting("device", "phone aaaa"), "device"),
        (setting("item", "SPF"), "item"),
        (setting("item", ""), "item"),
        (setting("item", "x" * 65), "item"),
    ],
)
def test_bad_event_is_refused_naming_the_field(change, field):
    with pytest.raises(EventError, match=rf"^events\[3\]\.{field}: ") as caught:
        validate_event(change(event()), "events[3]")
    assert isinstance(caught.value, ValueError)


def test_calendar_dates_are_checked_for_real():
    assert validate_event(event(day="2028-02-29"))["day"] == "2028-02-29"
    with pytest.raises(EventError, match=r"^event\.day: must be a real calendar date$"):
        validate_event(event(day="2026-02-29"))


@pytest.mark.parametrize("raw", [None, [], "event", 7])
def test_an_event_must_be_an_object(raw):
    with pytest.raises(EventError, match=r"^events\[0\]: must be an object$"):
        validate_event(raw, "events[0]")


# Validation of a batch


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"events": []}, r"^events: must be a list$"),
        (None, r"^events: must be a list$"),
        ([], r"^events: must hold at least one event$"),
    ],
)
def test_batch_must_be_a_non_empty_list(raw, message):
    with pytest.raises(EventError, match=message):
        validate_batch(raw)


def test_a_checked_batch_says_so_and_keeps_its_order_when_cut():
    events = [event(id=f"event-{n:04d}", ts=n) for n in range(5)]
    checked = validate_batch([*events, events[2]])
    assert isinstance(checked, Batch) and list(checked) == events
    kept = checked.only({3, 0})
    assert isinstance(kept, Batch) and [e["id"] for e in kept] == ["event-0000", "event-0003"]


def test_batch_size_is_limited_to_what_the_phone_sends_at_once():
    batch = [event(id=f"event-{n:04d}") for n in range(201)]
    assert len(validate_batch(batch[:200])) == 200
    with pytest.raises(EventError, match=r"^events: must hold at most 200 events$"):
        validate_batch(batch)
    with pytest.raises(EventError, match=r"^events: must hold at most 3 events$"):
        validate_batch(batch[:4], max_events=3)


def test_batch_names_the_bad_event_by_index():
    batch = [event(id="event-0001"), event(id="event-0002"), event(id="event-0003", ts=-5)]
    with pytest.raises(EventError, match=r"^events\[2\]\.ts: "):
        validate_batch(batch)


def test_batch_refuses_one_id_with_two_contents():
    batch = [event(), event(id="other-001"), event(done=False)]
    with pytest.raises(EventError, match=r"^events\[2\]\.id: repeats events\[0\]"):
        validate_batch(batch)


def test_batch_drops_exact_repeats():
    batch = [event(), event(id="other-001"), event()]
    assert list(validate_batch(batch)) == [event(), event(id="other-001")]


# Compaction: the server keeps only each box's winning tick (and every session edit)


def session_events(ids: list[str]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "id": st.sampled_from(ids),
            "device": st.sampled_from(DEVICES),
            "counter": st.integers(0, 3),
            "ts": st.integers(0, 4),
            "session": st.sampled_from(["s1", "s2"]),
            "day": st.sampled_from(DAYS),
            "time": st.sampled_from([None, "09:30"]),
            "status": st.sampled_from(["done", "planned", "cancelled"]),
        }
    )


def mixed_events(days: list[str] = DAYS) -> st.SearchStrategy[list[dict]]:
    """Ticks on `days` and session edits, each id naming one event."""
    return st.lists(
        st.one_of(
            events([f"tick-{n:03d}" for n in range(200)], days),
            session_events([f"session-{n:03d}" for n in range(200)]),
        ),
        max_size=40,
        unique_by=lambda e: e["id"],
    )


MIXED_EVENTS = mixed_events()


def batches_of(evts: list[dict], data) -> list[list[dict]]:
    """`evts` cut into batches where Hypothesis chooses."""
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(evts), 1))), label="cuts"))
    return [evts[a:b] for a, b in zip([0, *cuts], [*cuts, len(evts)], strict=True)]


def read_now_and_then(held: list[list[dict]], data) -> list[dict]:
    """What a phone takes in when it reads from its cursor after some of the batches (and
    the last), given what the server held after each."""
    syncs_after = data.draw(st.sets(st.integers(0, max(len(held) - 1, 0))), label="syncs")
    phone: list[dict] = []
    cursor = 0
    for index, kept in enumerate(held):
        if index in syncs_after or index == len(held) - 1:
            phone += [e for e in kept if e["seq"] > cursor]
            cursor = max([cursor, *(e["seq"] for e in kept)])
    return phone


def serve(batches: list[list[dict]]) -> list[list[dict]]:
    """What a server that compacts holds after each batch (each event numbered as stored)."""
    kept: list[dict] = []
    seq, held = 0, []
    for batch in batches:
        known = {e["id"] for e in kept}
        fresh, superseded = compact(kept, [e for e in batch if e["id"] not in known])
        gone = {id(e) for e in superseded}
        numbered = [{**e, "seq": seq + n} for n, e in enumerate(fresh, 1)]
        seq += len(fresh)
        kept = [e for e in kept if id(e) not in gone] + numbered
        held.append(kept)
    return held


def without_seq(evts):
    return [{k: v for k, v in e.items() if k != "seq"} for e in evts]


@properties
@given(MIXED_EVENTS, st.data())
def test_compacting_keeps_the_merge_of_everything_sent(evts, data):
    batches = batches_of(evts, data)
    kept = without_seq(serve(batches)[-1]) if batches else []
    assert merge({}, kept) == merge({}, evts)
    assert merge_sessions({}, kept) == merge_sessions({}, evts)
    ticks = [e for e in evts if "item" in e]
    assert len([e for e in kept if "item" in e]) == len({(e["day"], e["item"]) for e in ticks})
    # Every session edit stays: their count is the calendar's SEQUENCE.
    assert sorted(e["id"] for e in kept if "session" in e) == sorted(
        e["id"] for e in evts if "session" in e
    )


@properties
@given(MIXED_EVENTS, st.data())
def test_a_device_that_syncs_now_and_then_still_reaches_the_servers_state(evts, data):
    """A phone takes in the events stored after its cursor whenever it syncs; compaction
    may remove ticks it has not seen, but never the winner it needs."""
    phone = read_now_and_then(serve(batches_of(evts, data)), data)
    assert merge({}, without_seq(phone)) == merge({}, evts)
    assert merge_sessions({}, without_seq(phone)) == merge_sessions({}, evts)


def test_compact_drops_a_late_loser_and_replaces_an_outranked_winner():
    stored = event(id="stored-01", ts=2000)
    late_loser = event(id="late-0001", ts=1000)
    assert compact([stored], [late_loser]) == ([], [])
    newer = event(id="newer-001", ts=3000, done=False)
    other_box = event(id="other-001", ts=500, item="cleanse")
    assert compact([stored], [newer, other_box]) == ([newer, other_box], [stored])


def test_compact_also_drops_losers_already_stored():
    # A file written before compaction holds every event ever sent.
    old, new = event(id="old-00001", ts=1000), event(id="new-00001", ts=2000)
    assert compact([old, new], []) == ([], [old])
