"""How the console words moments, phones and refusals (pwa/clinic/clinic_time.py, phones.py,
form_errors.py): plain functions, so these tests need no app."""

from __future__ import annotations

from datetime import date
from datetime import datetime

import pytest

from pwa.clinic import clinic_time
from pwa.clinic import form_errors
from pwa.clinic import phones


def ms(text: str) -> int:
    """An ISO moment with its offset as ms since 1970."""
    return int(datetime.fromisoformat(text).timestamp() * 1000)


NOW = ms("2026-12-09T10:00:00+00:00")  # a Wednesday


@pytest.mark.parametrize(
    ("moment", "zone", "words"),
    [
        ("2026-12-09T09:12:00+00:00", "Europe/London", "today 09:12"),
        ("2026-12-08T18:40:00+00:00", "Europe/London", "yesterday 18:40"),
        ("2026-12-10T08:00:00+00:00", "Europe/London", "tomorrow 08:00"),
        ("2026-12-07T14:05:00+00:00", "Europe/London", "Mon 7 Dec, 14:05"),
        ("2025-12-07T14:05:00+00:00", "Europe/London", "Sun 7 Dec 2025, 14:05"),
        # Summer time: 13:05 UTC is 14:05 in London.
        ("2026-07-06T13:05:00+00:00", "Europe/London", "Mon 6 Jul, 14:05"),
        # The day is the zone's: 23:30 UTC on the 8th is already the 9th in Tokyo...
        ("2026-12-08T23:30:00+00:00", "Asia/Tokyo", "today 08:30"),
        # ... and 02:00 UTC on the 9th is still the 8th in New York.
        ("2026-12-09T02:00:00+00:00", "America/New_York", "yesterday 21:00"),
    ],
)
def test_a_moment_in_the_clinic_s_words(moment, zone, words):
    assert clinic_time.spoken(ms(moment), zone, NOW) == words


def test_a_day_names_its_year_only_when_it_is_not_this_year():
    today = date(2026, 12, 9)
    assert clinic_time.spoken_day("2026-12-14", today) == "Mon 14 Dec"
    assert clinic_time.spoken_day(date(2027, 1, 4), today) == "Mon 4 Jan 2027"
    assert clinic_time.today_in("Asia/Tokyo", ms("2026-12-31T15:00:00+00:00")) == date(2027, 1, 1)


def test_phones_are_described_in_one_line_and_a_nameless_one_still_reads():
    linked, synced = ms("2026-12-07T14:05:00+00:00"), ms("2026-12-09T09:12:00+00:00")
    devices = [
        {"device": "a" * 12, "name": "Chrome Mobile on Android", "added_ms": linked,
         "last_seen_ms": synced, "revoked": False},
        {"device": "b" * 12, "name": "", "added_ms": linked, "last_seen_ms": linked,
         "revoked": True},
    ]  # fmt: skip
    first, second = phones.described(devices, "Europe/London", NOW)
    assert first["summary"] == (
        "Chrome Mobile on Android · linked Mon 7 Dec, 14:05 · last synced today 09:12"
    )
    assert (first["label"], first["linked"], first["synced"]) == (
        "Chrome Mobile on Android",
        "Mon 7 Dec, 14:05",
        "today 09:12",
    )
    assert second["label"] == phones.UNNAMED and second["revoked"] is True


@pytest.mark.parametrize(
    ("checked", "field", "words"),
    [
        ("nickname: 1 to 40 characters", "nickname", "Nickname: 1 to 40 characters"),
        ("plan.sessions[0].day: must be a date YYYY-MM-DD", "last-session",
         "Date of this session: must be a date YYYY-MM-DD"),
        ("plan.sessions: session numbers must be whole numbers", "session-number",
         "Which session is it: session numbers must be whole numbers"),
        ("plan.planned_sessions: must be a whole number from 1 to 12", "planned-sessions",
         "Sessions planned in all: must be a whole number from 1 to 12"),
        ("plan.next_session: must come after the latest session", "next-session",
         "Next session: must come after the latest session"),
        ("plan.protocol.id: unknown protocol 'x'", "protocol", "Protocol: unknown protocol 'x'"),
    ],
)  # fmt: skip
def test_a_plan_check_s_message_is_tied_to_the_new_client_field(checked, field, words):
    shown = {"nickname", "last-session", "session-number", "planned-sessions", "next-session"}
    refusal = form_errors.new_client(checked, shown | {"protocol"})
    assert (refusal.message, refusal.fields, refusal.message_id) == (
        words,
        (field,),
        f"{field}-error",
    )


def test_a_field_the_form_does_not_show_leaves_the_message_to_the_form():
    refusal = form_errors.new_client("plan.protocol.id: unknown protocol 'x'", {"nickname"})
    assert refusal.fields == () and refusal.message_id == "new-client-error"
    assert refusal.message == "Protocol: unknown protocol 'x'"


def test_a_session_check_s_message_names_the_session_form_s_field():
    typed = {"day": "2030-01-01", "time": "", "status": "planned"}
    refusal = form_errors.session_edit("events[0].time: must be null or a time", "s-abc", typed)
    assert refusal.fields == ("s-abc-time",) and refusal.form == "s-abc"
    assert refusal.message == "Time: must be null or a time" and refusal.typed == typed
    whole = form_errors.session_edit("events: a plan may have at most 40 sessions", "new", {})
    assert whole.fields == () and whole.message == "A plan may have at most 40 sessions"
    assert whole.message_id == "new-error"
