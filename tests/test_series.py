"""The treatment series: seeds, merge of session edits, numbering, next window, run start."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from pwa.care import merge
from pwa.care import protocol
from pwa.care import series

SCHEDULE = protocol.expand(protocol.load_protocols()["microneedling-default"])


def plan(**changes) -> dict:
    return {
        "sessions": [{"day": "2026-03-02", "number": 2}],
        "next_session": "2026-04-06",
        "planned_sessions": 4,
        **changes,
    }


counter = iter(range(1, 10**9))


def edit(session, day, status="planned", time=None, ts=1000, device="device-a"):
    n = next(counter)
    return {
        "id": f"event-{n:08d}",
        "device": device,
        "counter": n,
        "ts": ts,
        "session": session,
        "day": day,
        "time": time,
        "status": status,
    }


def test_onboarding_answers_become_the_series():
    built = series.build(plan(), [])
    assert [(s["session"], s["day"], s["status"], s["number"]) for s in built] == [
        ("initial-2", "2026-03-02", "done", 2),
        ("initial-next", "2026-04-06", "planned", 3),
    ]
    assert series.total_sessions(plan(), built) == 4


def test_an_edit_moves_a_session_and_counts_as_a_new_sequence():
    built = series.build(plan(), [edit("initial-next", "2026-04-13", time="10:30")])
    assert built[1] == {
        "session": "initial-next",
        "day": "2026-04-13",
        "time": "10:30",
        "status": "planned",
        "number": 3,
        "sequence": 1,
    }


def test_cancelled_sessions_leave_the_series_and_numbers_close_up():
    events = [edit("extra-one", "2026-05-11"), edit("initial-next", "2026-04-06", "cancelled")]
    built = series.build(plan(), events)
    assert [(s["session"], s["number"]) for s in built] == [("initial-2", 2), ("extra-one", 3)]


def test_an_earlier_session_added_later_takes_the_numbers_before():
    built = series.build(plan(), [edit("first", "2026-01-26", "done")])
    assert [(s["session"], s["number"]) for s in built[:2]] == [("first", 1), ("initial-2", 2)]


def test_logging_a_session_starts_a_new_run():
    events = [edit("initial-next", "2026-04-06", "done")]
    built = series.build(plan(), events)
    assert series.current_session(built, date(2026, 4, 5))["session"] == "initial-2"
    assert series.current_session(built, date(2026, 4, 6))["session"] == "initial-next"


def test_next_window_comes_from_the_protocol_interval():
    built = series.build(plan(), [])
    window = series.next_window(built, SCHEDULE, date(2026, 3, 10))
    assert window["earliest"] == "2026-03-30"  # 28 days after 2 March
    assert window["latest"] == "2026-04-13"  # 42 days
    assert window["planned"]["session"] == "initial-next"
    custom = {**SCHEDULE, "series": {"interval_min_days": 21, "interval_max_days": 35}}
    assert series.next_window(built, custom, date(2026, 3, 10))["earliest"] == "2026-03-23"


def test_the_later_edit_wins_whatever_the_arrival_order():
    older = edit("initial-next", "2026-04-20", ts=2000, device="device-a")
    newer = edit("initial-next", "2026-04-27", ts=3000, device="device-b")
    assert series.build(plan(), [older, newer]) == series.build(plan(), [newer, older])
    assert series.build(plan(), [older, newer])[1]["day"] == "2026-04-27"


session_edits = st.builds(
    edit,
    session=st.sampled_from(["initial-2", "initial-next", "extra-a", "extra-b"]),
    day=st.dates(date(2026, 1, 1), date(2026, 12, 31)).map(date.isoformat),
    status=st.sampled_from(merge.SESSION_STATUSES),
    time=st.none() | st.sampled_from(["09:00", "17:45"]),
    ts=st.integers(0, 5),
    device=st.sampled_from(["device-a", "device-b"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(session_edits, max_size=12), st.randoms(use_true_random=False))
def test_series_is_the_same_in_any_order_and_with_repeats(events, random):
    shuffled = events + events[: len(events) // 2]
    random.shuffle(shuffled)
    # Repeats are dropped before they are stored; what is compared is the series itself.
    strip = [{k: v for k, v in s.items() if k != "sequence"} for s in series.build(plan(), events)]
    again = [
        {k: v for k, v in s.items() if k != "sequence"} for s in series.build(plan(), shuffled)
    ]
    assert strip == again


def test_session_edits_are_validated_like_ticks():
    good = edit("initial-next", "2026-04-06")
    assert merge.validate_event(good) == good
    for change, field in [
        ({"status": "maybe"}, "status"),
        ({"time": "25:00"}, "time"),
        ({"time": "9:00"}, "time"),
        ({"session": ""}, "session"),
        ({"session": "a/b"}, "session"),
        ({"day": "2026-02-30"}, "day"),
    ]:
        with pytest.raises(merge.EventError, match=rf"event\.{field}:"):
            merge.validate_event({**good, **change})
    with pytest.raises(merge.EventError, match="item: unknown field"):
        merge.validate_event({**good, "item": "hands-off"})


def test_fit_refuses_done_sessions_in_the_future_and_far_dates():
    today = date(2026, 3, 10)
    with pytest.raises(series.SeriesError, match=r"events\[0\]\.status: .*future"):
        series.check_session_events_fit(plan(), [], [edit("x", "2026-03-20", "done")], today)
    with pytest.raises(series.SeriesError, match=r"events\[0\]\.day"):
        series.check_session_events_fit(plan(), [], [edit("x", "2031-01-01")], today)
    too_many = [edit(f"extra-{n}", "2026-06-01") for n in range(series.MAX_SESSIONS_EVER)]
    with pytest.raises(series.SeriesError, match="at most"):
        series.check_session_events_fit(plan(), [], too_many, today)
    series.check_session_events_fit(plan(), [], [edit("x", "2026-03-11", "done")], today)


SERIES_VECTORS = json.loads((Path(__file__).parent / "vectors" / "series.json").read_text())[
    "cases"
]


@pytest.mark.parametrize("vector", SERIES_VECTORS, ids=[v["name"] for v in SERIES_VECTORS])
def test_series_vectors_shared_with_the_phone(vector):
    """tests/vectors/series.json, which tests/js/series.test.mjs runs against the phone's."""
    plan = {"next_session": None, **vector["plan"]}
    for events in (vector["events"], vector["events"][::-1]):
        built = series.build(plan, events)
        assert [{k: v for k, v in s.items() if k != "sequence"} for s in built] == vector["series"]
