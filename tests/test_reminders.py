"""Which reminders are due: examples pinned to real instants, and properties over many zones."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from pwa.care.protocol import expand
from pwa.care.protocol import load_protocols
from pwa.reminders.due import DEFAULT_PREFS
from pwa.reminders.due import PrefsError
from pwa.reminders.due import check_prefs
from pwa.reminders.due import due_reminders

SCHEDULE = expand(load_protocols()["microneedling-default"])
LONDON = "Europe/London"
NO_QUIET = {"quiet_start": "00:00", "quiet_end": "00:00"}
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "America/St_Johns",
    "UTC",
]
YEAR = 2026


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def session(day, at=None, status="planned", name="s1", number=1):
    return {
        "session": name,
        "day": day,
        "time": at,
        "status": status,
        "number": number,
        "sequence": number,
    }


def due(now, sessions, prefs=None, ticks=None, zone=LONDON, start_hour=3, mode="standard"):
    plan = {"time_zone": zone, "day_start_hour": start_hour, "mode": mode}
    return due_reminders(
        plan=plan,
        sessions=sessions,
        ticks=ticks or {},
        schedule=SCHEDULE,
        prefs=prefs or {},
        now=now,
    )


def keys(now, *args, **kwargs) -> list[str]:
    return [r.key for r in due(now, *args, **kwargs)]


def first_due(key, start, end, *args, step=timedelta(minutes=1), **kwargs):
    """The first instant in [start, end), at `step`, at which `key` is due (or None)."""
    now = start
    while now < end:
        if key in keys(now, *args, **kwargs):
            return now
        now += step
    return None


def ticked(day, items, done=True) -> dict:
    return {(day, item): {"day": day, "item": item, "done": done} for item in items}


def items_of(day_number, mode="standard") -> list[str]:
    return SCHEDULE["modes"][mode]["days"][day_number]["items"]


# Prefs


def test_prefs_defaults_fill_what_is_left_out():
    assert check_prefs({}) == DEFAULT_PREFS
    assert check_prefs({"daily_time": "09:15"})["daily_time"] == "09:15"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"daily_time": "9:15"}, "prefs.daily_time"),
        ({"daily_time": "24:00"}, "prefs.daily_time"),
        ({"quiet_start": None}, "prefs.quiet_start"),
        ({"quiet_end": "08:60"}, "prefs.quiet_end"),
        ({"evening_time": "6pm"}, "prefs.evening_time"),
        ({"evening_time": 1800}, "prefs.evening_time"),
        ({"volume": "loud"}, "prefs: unknown"),
        (["21:00"], "prefs: must be an object"),
    ],
)
def test_bad_prefs_name_the_field(raw, field):
    with pytest.raises(PrefsError, match=field):
        check_prefs(raw)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        due(datetime(2026, 6, 10, 17), [session("2026-06-11")])


# Session tomorrow


def test_session_tomorrow_fires_at_evening_time_local_in_summer_and_winter():
    found = {}
    for day in ("2026-06-11", "2026-01-15"):
        eve = date.fromisoformat(day) - timedelta(days=1)
        span = (datetime.combine(eve, time(15), UTC), datetime.combine(eve, time(21), UTC))
        found[day] = first_due(f"session-tomorrow:s1:{day}", *span, [session(day, "10:30")])
    # 18:00 in London is 17:00 UTC on a BST date and 18:00 UTC on a GMT date; so at
    # 17:59 local (a minute before each) nothing was due.
    assert found == {"2026-06-11": utc(2026, 6, 10, 17), "2026-01-15": utc(2026, 1, 14, 18)}
    assert found["2026-01-15"].hour - found["2026-06-11"].hour == 1
    reminders = due(utc(2026, 6, 10, 17), [session("2026-06-11", "10:30")])
    assert reminders[0].title == "Appointment tomorrow"
    assert reminders[0].body == "Your skin appointment is tomorrow at 10:30."
    assert (reminders[0].kind, reminders[0].url) == ("session-tomorrow", "/sessions/")


def test_session_tomorrow_without_time_and_done_sessions():
    now = utc(2026, 6, 10, 17)
    assert due(now, [session("2026-06-11")])[0].body == "Your skin appointment is tomorrow."
    assert keys(now, [session("2026-06-11", "10:30", status="done")]) == []
    assert keys(now, [session("2026-06-12", "10:30")]) == []


def test_session_tomorrow_expires_at_midnight():
    sessions = [session("2026-06-11", "10:30")]
    key = "session-tomorrow:s1:2026-06-11"
    prefs = NO_QUIET
    assert key in keys(utc(2026, 6, 10, 22, 59), sessions, prefs)  # 23:59 BST
    assert key not in keys(utc(2026, 6, 10, 23, 0), sessions, prefs)  # midnight BST


def test_evening_time_inside_quiet_hours_is_never_sent_the_evening_before():
    # Scheduled at 22:00, inside 21:00-08:00: quiet hours end at 08:00 on the day
    # of the appointment, after the reminder expired at midnight, so it is never due.
    sessions = [session("2026-06-11")]
    prefs = {"evening_time": "22:00"}
    span = (utc(2026, 6, 9, 23), utc(2026, 6, 10, 23))  # the whole local day before
    assert first_due("session-tomorrow:s1:2026-06-11", *span, sessions, prefs) is None
    # The morning reminder still comes, when quiet hours end.
    morning = first_due(
        "session-today:s1:2026-06-11", utc(2026, 6, 10, 23), utc(2026, 6, 11, 23), sessions, prefs
    )
    assert morning == utc(2026, 6, 11, 7)  # 08:00 BST


def test_quiet_hours_that_do_not_wrap_close_the_window():
    # Due from 12:00 until quiet hours begin at 13:00; not again after 14:00.
    sessions = [session("2026-01-15")]
    prefs = {"evening_time": "12:00", "quiet_start": "13:00", "quiet_end": "14:00"}
    key = "session-tomorrow:s1:2026-01-15"
    assert key not in keys(utc(2026, 1, 14, 11, 59), sessions, prefs)
    assert key in keys(utc(2026, 1, 14, 12, 59), sessions, prefs)
    assert key not in keys(utc(2026, 1, 14, 13, 30), sessions, prefs)
    assert key not in keys(utc(2026, 1, 14, 14, 30), sessions, prefs)


# Session today


def test_session_today_fires_two_hours_before_until_it_starts():
    sessions = [session("2026-01-15", "10:30")]
    key = "session-today:s1:2026-01-15"
    assert key not in keys(utc(2026, 1, 15, 8, 29), sessions)
    reminders = due(utc(2026, 1, 15, 8, 30), sessions)
    assert [r.key for r in reminders] == [key]
    assert reminders[0].body == "Your skin appointment is today at 10:30."
    assert key in keys(utc(2026, 1, 15, 10, 29), sessions)
    assert key not in keys(utc(2026, 1, 15, 10, 30), sessions)


def test_early_session_inside_quiet_hours_is_never_due():
    # 07:00 session: scheduled 05:00, quiet until 08:00, which is after it starts.
    sessions = [session("2026-01-15", "07:00")]
    span = (utc(2026, 1, 14), utc(2026, 1, 16))
    assert (
        first_due("session-today:s1:2026-01-15", *span, sessions, step=timedelta(minutes=5)) is None
    )


def test_session_today_without_time_fires_when_quiet_hours_end():
    sessions = [session("2026-01-15")]
    key = "session-today:s1:2026-01-15"
    assert first_due(key, utc(2026, 1, 15), utc(2026, 1, 16), sessions) == utc(2026, 1, 15, 8)
    assert key in keys(utc(2026, 1, 15, 20, 59), sessions)
    # Without quiet hours the morning is 08:00.
    assert first_due(key, utc(2026, 1, 15), utc(2026, 1, 16), sessions, NO_QUIET) == utc(
        2026, 1, 15, 8
    )


# Aftercare


def test_aftercare_due_at_daily_time_while_items_are_left():
    sessions = [session("2026-01-10", status="done")]
    prefs = {"daily_time": "19:00"}
    day = "2026-01-12"  # day 2
    items = items_of(2)
    almost = ticked(day, items[:-1])
    assert keys(utc(2026, 1, 12, 18, 59), sessions, prefs, almost) == []
    reminders = due(utc(2026, 1, 12, 19), sessions, prefs, almost)
    assert [r.key for r in reminders] == ["aftercare:2026-01-12"]
    assert reminders[0].body == "Today's aftercare list has 1 item left."
    assert reminders[0].url == "/"
    three = ticked(day, items[:-3]) | ticked(day, items[-1:], done=False)
    assert due(utc(2026, 1, 12, 19), sessions, prefs, three)[0].body == (
        "Today's aftercare list has 3 items left."
    )
    assert keys(utc(2026, 1, 12, 19), sessions, prefs, ticked(day, items)) == []


def test_aftercare_only_inside_the_run():
    prefs = {"daily_time": "19:00"}
    done = session("2026-01-10", status="done")
    planned = session("2026-01-10", "10:00", name="s0")
    assert keys(utc(2026, 1, 9, 19), [done], prefs) == []  # before day 0
    assert keys(utc(2026, 1, 10, 19), [planned], prefs) == []  # not done yet
    assert keys(utc(2026, 1, 10, 19), [done], prefs) == ["aftercare:2026-01-10"]
    assert keys(utc(2026, 1, 24, 19), [done], prefs) == ["aftercare:2026-01-24"]  # day 14
    assert keys(utc(2026, 1, 25, 19), [done], prefs) == []  # day 15


def test_aftercare_run_restarts_at_the_latest_done_session():
    prefs = {"daily_time": "19:00"}
    sessions = [
        session("2026-01-10", status="done"),
        session("2026-01-30", status="done", name="s2", number=2),
    ]
    assert keys(utc(2026, 1, 29, 19), sessions, prefs) == []
    assert keys(utc(2026, 1, 30, 19), sessions, prefs) == ["aftercare:2026-01-30"]


def test_aftercare_before_day_start_belongs_to_the_evening_before():
    # 01:00 with days starting at 03:00 is still plan day 2026-01-12.
    prefs = {"daily_time": "01:00", **NO_QUIET}
    sessions = [session("2026-01-10", status="done")]
    assert keys(utc(2026, 1, 13, 1), sessions, prefs) == ["aftercare:2026-01-12"]
    assert keys(utc(2026, 1, 13, 2, 59), sessions, prefs) == ["aftercare:2026-01-12"]
    assert keys(utc(2026, 1, 13, 3), sessions, prefs) == []


def test_aftercare_daily_time_in_the_spring_forward_gap():
    # 01:30 does not exist on 29 March 2026 in London: clocks go from 01:00 GMT to
    # 02:00 BST, so the reminder fires at 02:00 BST (01:00 UTC), the first real instant.
    prefs = {"daily_time": "01:30", **NO_QUIET}
    sessions = [session("2026-03-28", status="done")]
    span = (utc(2026, 3, 28, 23), utc(2026, 3, 29, 12))
    found = first_due("aftercare:2026-03-29", *span, sessions, prefs, start_hour=0)
    assert found == utc(2026, 3, 29, 1)


def test_aftercare_daily_time_repeated_at_fall_back_is_the_first_one():
    # 01:30 happens twice on 25 October 2026 in London: first at 00:30 UTC (BST).
    prefs = {"daily_time": "01:30", **NO_QUIET}
    sessions = [session("2026-10-24", status="done")]
    span = (utc(2026, 10, 24, 23), utc(2026, 10, 25, 12))
    found = first_due("aftercare:2026-10-25", *span, sessions, prefs, start_hour=0)
    assert found == utc(2026, 10, 25, 0, 30)


def test_fall_back_into_quiet_hours_closes_the_window():
    # 25 October 2026, London: due from 01:30 BST (00:30 UTC); at 02:00 BST the clocks
    # go back to 01:00 GMT, inside quiet hours 00:30-01:30, and the window is closed for
    # good: at 01:30 GMT (01:30 UTC) it is not due a second time.
    prefs = {"daily_time": "01:30", "quiet_start": "00:30", "quiet_end": "01:30"}
    sessions = [session("2026-10-24", status="done")]
    args = (sessions, prefs)
    key = "aftercare:2026-10-25"
    assert key not in keys(utc(2026, 10, 25, 0, 29), *args, start_hour=0)
    assert key in keys(utc(2026, 10, 25, 0, 30), *args, start_hour=0)
    assert key in keys(utc(2026, 10, 25, 0, 59), *args, start_hour=0)
    assert keys(utc(2026, 10, 25, 1), *args, start_hour=0) == []
    span = (utc(2026, 10, 25, 1), utc(2026, 10, 26))
    assert first_due(key, *span, *args, start_hour=0) is None


def test_aftercare_in_quiet_hours_waits_for_them_to_end():
    prefs = {"daily_time": "13:30", "quiet_start": "13:00", "quiet_end": "14:00"}
    sessions = [session("2026-01-10", status="done")]
    span = (utc(2026, 1, 11), utc(2026, 1, 12))
    assert first_due("aftercare:2026-01-11", *span, sessions, prefs) == utc(2026, 1, 11, 14)


def test_notification_text_names_no_product_or_treatment():
    texts = {
        text.lower()
        for mode in SCHEDULE["modes"].values()
        for item in mode["items"].values()
        for text in (item["text"], item["id"])
    }
    sessions = [session("2026-01-10", status="done"), session("2026-01-12", "10:30", name="s2")]
    prefs = {"daily_time": "09:00"}
    found = due(utc(2026, 1, 11, 18), sessions, prefs) + due(utc(2026, 1, 12, 9), sessions, prefs)
    assert {r.kind for r in found} == {"session-tomorrow", "session-today", "aftercare"}
    for reminder in found:
        shown = f"{reminder.title} {reminder.body}".lower()
        assert "microneedl" not in shown and "needle" not in shown
        assert not any(text in shown for text in texts)


# Properties


@cache
def offset_changes(zone: str) -> tuple[date, ...]:
    """Local dates in YEAR on which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    days = [date(YEAR, 1, 1) + timedelta(days=n) for n in range(366)]
    noon = [datetime.combine(d, time(12), tz).utcoffset() for d in days]
    return tuple(d for d, a, b in zip(days[1:], noon, noon[1:], strict=False) if a != b)


hhmm = st.builds(
    "{:02d}:{:02d}".format,
    st.one_of(st.integers(0, 23), st.sampled_from([0, 1, 2, 3, 21, 22])),
    st.sampled_from([0, 0, 15, 30, 45, 59, 7]),
)


@st.composite
def cases(draw):
    zone = draw(st.sampled_from(ZONES))
    changes = offset_changes(zone)
    if changes and draw(st.booleans()):
        base = draw(st.sampled_from(changes)) + timedelta(days=draw(st.integers(-2, 1)))
    else:
        base = date(YEAR, 1, 1) + timedelta(days=draw(st.integers(0, 363)))
    # Sessions around the three days stepped through, and done ones up to 14 days before.
    near = st.integers(-14, 3) | st.integers(-1, 3)
    offsets = draw(st.lists(near, max_size=5, unique=True))
    sessions = [
        session(
            (base + timedelta(days=offset)).isoformat(),
            draw(st.none() | hhmm),
            draw(st.sampled_from(["done", "planned"])),
            name=f"s{number}",
            number=number,
        )
        for number, offset in enumerate(sorted(offsets), start=1)
    ]
    prefs = {
        "daily_time": draw(st.none() | hhmm),
        "evening_time": draw(hhmm),
        "quiet_start": draw(hhmm),
        "quiet_end": draw(hhmm),
    }
    if draw(st.booleans()):
        prefs["quiet_end"] = prefs["quiet_start"]  # no quiet hours
    mode = draw(st.sampled_from(["standard", "pih_risk"]))
    ticks = {}
    for offset in range(-16, 5):
        day = (base + timedelta(days=offset)).isoformat()
        items = draw(st.lists(st.sampled_from(sorted(SCHEDULE["modes"][mode]["items"]))))
        ticks |= ticked(day, items, done=draw(st.booleans()))
    start = datetime.combine(base, time(0), ZoneInfo(zone)).astimezone(UTC)
    start += timedelta(seconds=draw(st.integers(0, 599)))
    kwargs = {"zone": zone, "start_hour": draw(st.integers(0, 6)), "mode": mode}
    return start, sessions, prefs, ticks, kwargs


def is_quiet(now: datetime, zone: str, prefs: dict) -> bool:
    local = now.astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")
    start, end = prefs["quiet_start"], prefs["quiet_end"]
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def check_one(now, sessions, prefs, ticks, kwargs) -> list[str]:
    """Due reminders at `now`, checked against properties (1), (2), (3) and (5)."""
    zone = kwargs["zone"]
    reminders = due(now, sessions, prefs, ticks, **kwargs)
    found = [r.key for r in reminders]
    assert found == sorted(set(found))  # (5) unique, sorted
    if found:
        assert not is_quiet(now, zone, prefs)  # (1)
    today = now.astimezone(ZoneInfo(zone)).date()
    by_key = {f"{s['session']}:{s['day']}": s for s in sessions}
    for reminder in reminders:
        kind, key = reminder.key.split(":", 1)
        assert kind == reminder.kind
        if kind == "session-tomorrow":  # (2)
            assert by_key[key]["status"] == "planned"
            assert date.fromisoformat(by_key[key]["day"]) == today + timedelta(days=1)
        if kind == "session-today":
            assert date.fromisoformat(by_key[key]["day"]) == today
            if by_key[key]["time"]:
                assert now.astimezone(ZoneInfo(zone)).strftime("%H:%M") < by_key[key]["time"]
        if kind == "aftercare":  # (3) some item of that day is not ticked done
            day = date.fromisoformat(key)
            done = [date.fromisoformat(s["day"]) for s in sessions if s["status"] == "done"]
            zero = max(d for d in done if d <= day)
            number = (day - zero).days
            assert 0 <= number <= SCHEDULE["recovery_days"]
            items = items_of(number, kwargs["mode"])
            assert not all(ticks.get((key, i), {}).get("done") for i in items)
    return found


@settings(deadline=None, max_examples=300)
@given(cases(), st.integers(0, 3 * 24 * 60))
def test_properties_at_any_instant(case, minutes):
    start, sessions, prefs, ticks, kwargs = case
    check_one(start + timedelta(minutes=minutes), sessions, prefs, ticks, kwargs)


@settings(deadline=None, max_examples=300)
@given(cases(), st.integers(0, 3 * 24 * 60))
def test_aftercare_never_due_when_every_item_is_ticked(case, minutes):
    start, sessions, prefs, _, kwargs = case
    prefs = {**prefs, "daily_time": prefs["daily_time"] or "12:00"}
    everything = {}
    for offset in range(-20, 6):
        day = (start + timedelta(days=offset)).date().isoformat()
        everything |= ticked(day, SCHEDULE["modes"][kwargs["mode"]]["items"])
    found = check_one(start + timedelta(minutes=minutes), sessions, prefs, everything, kwargs)
    assert not [key for key in found if key.startswith("aftercare:")]


@settings(deadline=None, max_examples=100)
@given(cases())
def test_each_reminder_is_due_over_one_unbroken_stretch(case):
    # (4) Stepping every 10 minutes across 3 local days: never due, not due, due again.
    start, sessions, prefs, ticks, kwargs = case
    seen: dict[str, list[int]] = {}
    for step in range(3 * 24 * 6 + 1):
        for key in check_one(start + timedelta(minutes=10 * step), sessions, prefs, ticks, kwargs):
            seen.setdefault(key, []).append(step)
    for key, steps in seen.items():
        assert steps == list(range(steps[0], steps[-1] + 1)), key
