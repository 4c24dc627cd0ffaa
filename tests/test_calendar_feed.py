"""The subscribe feed: parsed back with icalendar and checked event by event."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from icalendar import Calendar

from pwa.care import protocol
from pwa.reminders.calendar_feed import build_feed

SCHEDULE = protocol.expand(protocol.load_protocols()["microneedling-default"])
NOW = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)


def session(ident, day, time=None, status="planned", number=1, sequence=0):
    return {
        "session": ident,
        "day": day,
        "time": time,
        "status": status,
        "number": number,
        "sequence": sequence,
    }


def feed(sessions, *, zone="Europe/London", mode="standard", feed_key="k7f3", now=NOW, **extra):
    plan = {"time_zone": zone, "mode": mode}
    return build_feed(
        plan=plan, sessions=sessions, schedule=SCHEDULE, feed_key=feed_key, now=now, **extra
    )


def events(raw):
    return Calendar.from_ical(raw).walk("VEVENT")


def by_uid(raw):
    return {str(event["UID"]): event for event in events(raw)}


def triggers(event):
    return sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))


def gate_days(mode):
    return sorted({gate["from_day"] for gate in SCHEDULE["modes"][mode]["days"][0]["gates"]})


SERIES = [
    session("s1", "2025-06-02", "10:00", status="done", number=1, sequence=2),
    session("s2", "2025-07-14", "10:00", number=2, sequence=5),
    session("s3", "2025-08-25", None, number=3),
]


def test_calendar_properties_and_timezone_component():
    raw = feed(SERIES, zone="America/New_York")
    calendar = Calendar.from_ical(raw)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["X-WR-CALNAME"]) == "Aftercare"
    assert str(calendar["X-WR-TIMEZONE"]) == "America/New_York"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n" in raw
    assert b"X-PUBLISHED-TTL:PT6H\r\n" in raw
    assert [tz.tz_name for tz in calendar.timezones] == ["America/New_York"]
    assert calendar.get_missing_tzids() == set()


def test_one_event_per_session_done_and_planned():
    sessions = [session(f"s{n}", f"2025-0{n}-01", "11:00", status="planned") for n in (6, 7, 8)]
    sessions[0]["status"] = "done"
    found = [uid for uid in by_uid(feed(sessions)) if uid.startswith("session-")]
    assert sorted(found) == [f"session-s{n}-k7f3@aftercare" for n in (6, 7, 8)]


def test_planned_timed_session_has_two_display_alarms_before_start():
    event = by_uid(feed(SERIES))["session-s2-k7f3@aftercare"]
    alarms = event.walk("VALARM")
    assert len(alarms) == 2
    assert {str(alarm["ACTION"]) for alarm in alarms} == {"DISPLAY"}
    assert all(str(alarm["DESCRIPTION"]) for alarm in alarms)
    assert triggers(event) == [timedelta(days=-1), timedelta(hours=-2)]
    raw = event.to_ical()
    assert b"TRIGGER:-P1D" in raw and b"TRIGGER:-PT2H" in raw


def test_done_session_has_no_alarm():
    event = by_uid(feed(SERIES))["session-s1-k7f3@aftercare"]
    assert event.walk("VALARM") == []


@pytest.mark.parametrize(
    ("zone", "day", "utc_hour"),
    [
        ("Europe/London", "2025-07-15", 9),
        ("Europe/London", "2026-01-15", 10),
        ("America/New_York", "2025-07-15", 14),
        ("America/New_York", "2026-01-15", 15),
    ],
)
def test_timed_session_keeps_local_wall_time_across_dst(zone, day, utc_hour):
    raw = feed([session("s1", day, "10:00", number=4)], zone=zone)
    event = by_uid(raw)["session-s1-k7f3@aftercare"]
    assert event["DTSTART"].params["TZID"] == zone
    start = event.decoded("DTSTART")
    expected = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
    assert start.astimezone(UTC) == expected.replace(hour=utc_hour)
    assert event.decoded("DTEND") - start == timedelta(minutes=60)
    assert str(event["TRANSP"]) == "OPAQUE"
    assert [tz.tz_name for tz in Calendar.from_ical(raw).timezones] == [zone]


def test_time_in_spring_forward_gap_is_written_as_given():
    raw = feed([session("s1", "2025-03-30", "01:30")])
    assert b"DTSTART;TZID=Europe/London:20250330T013000\r\n" in raw


def test_uids_stable_across_fetches_and_unique_per_feed_key():
    first = feed(SERIES)
    later = feed(SERIES, now=NOW + timedelta(days=3, hours=5))
    other_plan = feed(SERIES, feed_key="q92a")
    assert list(by_uid(first)) == list(by_uid(later))
    assert set(by_uid(first)).isdisjoint(by_uid(other_plan))
    stamps = {event.decoded("DTSTAMP") for event in events(later)}
    assert stamps == {NOW + timedelta(days=3, hours=5)}


def test_sequence_follows_the_session_edits():
    uids = by_uid(feed(SERIES))
    assert int(uids["session-s1-k7f3@aftercare"]["SEQUENCE"]) == 2
    assert int(uids["session-s2-k7f3@aftercare"]["SEQUENCE"]) == 5
    assert int(uids["session-s3-k7f3@aftercare"]["SEQUENCE"]) == 0
    assert int(uids["checkpoint-s1-day7-k7f3@aftercare"]["SEQUENCE"]) == 2


@pytest.mark.parametrize("mode", protocol.MODES)
def test_default_feed_is_neutral(mode):
    raw = feed(SERIES, mode=mode)
    texts = []
    for event in events(raw):
        texts.append(str(event["SUMMARY"]))
        texts.append(str(event["DESCRIPTION"]))
        texts += [str(alarm["DESCRIPTION"]) for alarm in event.walk("VALARM")]
    words = ["retino", "vitamin", "acid", "microneedling", "makeup", "sauna", "peroxide"]
    for text in (" ".join(texts).lower(), raw.decode().lower()):
        assert not [word for word in words if word in text]
    summaries = {str(event["SUMMARY"]) for event in events(raw)}
    assert "Skin appointment" in summaries
    assert f"Aftercare check-in — day {gate_days(mode)[-1]}" in summaries


def test_explicit_titles_name_the_session_and_keep_the_condition():
    uids = by_uid(feed(SERIES, explicit_titles=True))
    assert str(uids["session-s2-k7f3@aftercare"]["SUMMARY"]) == "Microneedling session 2"
    checkpoints = [event for uid, event in uids.items() if uid.startswith("checkpoint-")]
    assert checkpoints
    for event in checkpoints:
        assert protocol.CONDITION in str(event["SUMMARY"])
        assert protocol.CONDITION in str(event["DESCRIPTION"])
    day7 = str(uids["checkpoint-s1-day7-k7f3@aftercare"]["SUMMARY"])
    assert day7.startswith("Day 7: ")
    assert "vitamin C serums" in day7 and "retinoids" not in day7
    day14 = str(uids["checkpoint-s1-day14-k7f3@aftercare"]["SUMMARY"])
    assert day14.startswith("Day 14: retinoids (retinol, tretinoin) may resume")


@pytest.mark.parametrize("mode", protocol.MODES)
def test_checkpoints_are_all_day_one_per_distinct_gate_day(mode):
    uids = by_uid(feed(SERIES, mode=mode))
    checkpoints = {uid: e for uid, e in uids.items() if uid.startswith("checkpoint-")}
    days = gate_days(mode)
    assert sorted(checkpoints) == sorted(f"checkpoint-s1-day{n}-k7f3@aftercare" for n in days)
    for n in days:
        event = checkpoints[f"checkpoint-s1-day{n}-k7f3@aftercare"]
        start = event.decoded("DTSTART")
        assert type(start) is date
        assert start == date(2025, 6, 2) + timedelta(days=n)
        assert event.decoded("DTEND") == start + timedelta(days=1)
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert triggers(event) == [timedelta(hours=9)]


def test_pih_risk_mode_moves_checkpoints_later():
    assert gate_days("standard") == [2, 5, 7, 14]
    assert gate_days("pih_risk") == [2, 5, 10, 14]
    pih = by_uid(feed(SERIES, mode="pih_risk"))
    assert "checkpoint-s1-day14-k7f3@aftercare" in pih
    assert "checkpoint-s1-day7-k7f3@aftercare" not in pih


def test_checkpoints_only_for_latest_done_session_and_stop_at_the_next_session():
    sessions = [
        session("s1", "2025-05-01", "10:00", status="done"),
        session("s2", "2025-06-02", "10:00", status="done"),
        session("s3", "2025-06-09", None),  # day 7 of s2's run
    ]
    found = sorted(uid for uid in by_uid(feed(sessions)) if uid.startswith("checkpoint-"))
    assert found == ["checkpoint-s2-day2-k7f3@aftercare", "checkpoint-s2-day5-k7f3@aftercare"]
    sessions[2]["day"] = "2025-06-05"  # day 3: only day 2 is still inside the run
    found = [uid for uid in by_uid(feed(sessions)) if uid.startswith("checkpoint-")]
    assert found == ["checkpoint-s2-day2-k7f3@aftercare"]


def test_no_checkpoints_before_any_session_is_done():
    uids = by_uid(feed([session("s1", "2025-06-02", "10:00")]))
    assert not [uid for uid in uids if uid.startswith("checkpoint-")]


def test_all_day_session_alarms_fire_at_nine_local():
    event = by_uid(feed(SERIES))["session-s3-k7f3@aftercare"]
    start = event.decoded("DTSTART")
    assert type(start) is date
    assert event.decoded("DTEND") == start + timedelta(days=1)
    midnight = datetime.combine(start, datetime.min.time())
    fire = [midnight + trigger for trigger in triggers(event)]
    assert fire == [datetime(2025, 8, 24, 9, 0), datetime(2025, 8, 25, 9, 0)]
    assert b"TRIGGER:-PT15H" in event.to_ical()


def test_all_day_alarms_are_deduplicated_and_follow_the_settings():
    sessions = [session("s1", "2025-08-25")]
    event = by_uid(feed(sessions, alarm_minutes=(2880, 1440, 120, 30), checkpoint_hour=8))[
        "session-s1-k7f3@aftercare"
    ]
    assert triggers(event) == [timedelta(hours=-40), timedelta(hours=-16), timedelta(hours=8)]


def test_raw_bytes_are_crlf_and_folded_at_75_octets():
    raw = feed(SERIES, mode="pih_risk", explicit_titles=True)
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")[:-1]
    assert not [line for line in lines if b"\n" in line or b"\r" in line]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # long titles really were folded


@pytest.mark.parametrize(
    "change",
    [
        {"now": datetime(2025, 6, 1, 8, 30)},
        {"mode": "gentle"},
        {"alarm_minutes": (-5,)},
    ],
)
def test_wrong_shapes_are_refused(change):
    with pytest.raises(ValueError):
        feed(SERIES, **change)
