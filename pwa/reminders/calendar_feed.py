"""The private subscribe feed: a plan's treatment series as an RFC 5545 calendar.

This module owns turning the series (one event per session, done or planned)
and the current aftercare run (one all-day check-in per distinct gate day after
the latest done session) into iCalendar bytes.  The `icalendar` library writes
every line; nothing here formats ICS text by hand.  Calendars are seen by other
people and synced to third parties, so titles are neutral unless the client has
asked for explicit ones.  Pure: no Flask, no storage.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm
from icalendar import Calendar
from icalendar import Event
from icalendar import vDuration

from pwa.care.protocol import MODES
from pwa.care.protocol import condition_for
from pwa.care.protocol import gate_message

PRODID = "-//Aftercare//Treatment series feed//EN"
CALENDAR_NAME = "Aftercare"
REFRESH = timedelta(hours=6)
SESSION_LENGTH = timedelta(minutes=60)
MINUTES_PER_DAY = 1440
NEUTRAL_SESSION = "Skin appointment"
NEUTRAL_DESCRIPTION = "Open the Aftercare app for details."
SESSION_KEYS = ("session", "day", "time", "status", "number", "sequence")


def build_feed(
    *,
    plan: dict,
    sessions: list[dict],
    schedule: dict,
    feed_key: str,
    now: datetime,
    explicit_titles: bool = False,
    alarm_minutes: tuple[int, ...] = (1440, 120),
    checkpoint_hour: int = 9,
) -> bytes:
    """The feed as bytes: calendar properties, a VTIMEZONE, sessions, then check-ins.

    `sessions` is the series sorted by day with cancelled sessions removed; `now`
    (aware) only sets DTSTAMP, so UIDs and everything else stay stable between fetches.
    """
    _check_shapes(plan, sessions, now, alarm_minutes, checkpoint_hour)
    zone_name = plan["time_zone"]
    zone = ZoneInfo(zone_name)
    stamp = now.astimezone(UTC)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.calendar_name = CALENDAR_NAME  # NAME and X-WR-CALNAME
    calendar.add("x-wr-timezone", zone_name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))

    events = [
        _session_event(s, zone, stamp, feed_key, explicit_titles, alarm_minutes, checkpoint_hour)
        for s in sessions
    ]
    gates = schedule["modes"][plan["mode"]]["days"][0]["gates"]
    checkpoints = _checkpoints(
        sessions, gates, stamp, feed_key, explicit_titles, checkpoint_hour, condition_for(plan)
    )
    events += checkpoints
    for event in events:
        calendar.add_component(event)

    if events:
        # A VTIMEZONE covering every event with room either side, fixed by the
        # events' dates so that repeated fetches produce the same component.
        years = [_as_date(event.decoded("dtstart")).year for event in events]
        calendar.add_missing_timezones(
            first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1)
        )
    return calendar.to_ical()


def _session_event(session, zone, stamp, feed_key, explicit, alarm_minutes, hour) -> Event:
    day = date.fromisoformat(session["day"])
    summary = f"Microneedling session {session['number']}" if explicit else NEUTRAL_SESSION
    event = _event(f"session-{session['session']}-{feed_key}", session, stamp, summary)
    event.add("status", "CONFIRMED")
    if session["time"]:
        # Local wall time with the plan's TZID; a time inside a spring-forward gap
        # is written as given and left to the calendar client.
        start = datetime.combine(day, time.fromisoformat(session["time"]), tzinfo=zone)
        event.add("dtstart", start)
        event.add("dtend", start + SESSION_LENGTH)
        event.add("transp", "OPAQUE")
        triggers = [timedelta(minutes=-minutes) for minutes in alarm_minutes]
    else:
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        # A session without a time should not mark the whole day busy.
        event.add("transp", "TRANSPARENT")
        triggers = [_all_day_trigger(minutes, hour) for minutes in alarm_minutes]
    if session["status"] == "planned":
        for trigger in dict.fromkeys(triggers):  # de-duplicated, order kept
            event.add_component(Alarm.new_display(description=summary, trigger=trigger))
    return event


def _all_day_trigger(minutes: int, hour: int) -> timedelta:
    """Whole days before (none for less than a day), at `hour` local, from the date's start."""
    return timedelta(days=-(minutes // MINUTES_PER_DAY), hours=hour)


def _checkpoints(sessions, gates, stamp, feed_key, explicit, hour, condition) -> list[Event]:
    """All-day check-ins for the run after the latest done session, until a later session."""
    done = [s for s in sessions if s["status"] == "done"]
    if not done:
        return []
    latest = done[-1]
    session_day = date.fromisoformat(latest["day"])
    later = [date.fromisoformat(s["day"]) for s in sessions if s["day"] > latest["day"]]
    run_ends = min(later, default=None)
    by_day: dict[int, list[dict]] = {}
    for gate in gates:
        by_day.setdefault(gate["from_day"], []).append(gate)

    events = []
    for from_day, group in sorted(by_day.items()):
        on = session_day + timedelta(days=from_day)
        if run_ends is not None and run_ends <= on:
            break
        if explicit:
            summary = _explicit_checkpoint_title(from_day, group, condition)
            description = "\n".join(gate_message(g["name"], from_day, 0, condition) for g in group)
        else:
            summary, description = f"Aftercare check-in — day {from_day}", NEUTRAL_DESCRIPTION
        uid = f"checkpoint-{latest['session']}-day{from_day}-{feed_key}"
        event = _event(uid, latest, stamp, summary, description)
        event.add("dtstart", on)
        event.add("dtend", on + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        event.add_component(Alarm.new_display(description=summary, trigger=timedelta(hours=hour)))
        events.append(event)
    return events


def _explicit_checkpoint_title(from_day: int, group: list[dict], condition: str) -> str:
    names = [_lower_first(gate["name"]) for gate in group]
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Day {from_day}: {joined} may resume {condition}"


def _lower_first(name: str) -> str:
    """'Vitamin C serums' -> 'vitamin C serums'; an acronym such as 'AHA' is kept."""
    if len(name) > 1 and name[1].isupper():
        return name
    return name[:1].lower() + name[1:]


def _event(uid, session, stamp, summary, description=NEUTRAL_DESCRIPTION) -> Event:
    event = Event()
    event.add("uid", f"{uid}@aftercare")
    event.add("dtstamp", stamp)
    event.add("sequence", session["sequence"])
    event.add("summary", summary)
    event.add("description", description)
    return event


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _check_shapes(plan, sessions, now, alarm_minutes, checkpoint_hour) -> None:
    """The caller validates; this only refuses data of the wrong shape."""
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if plan.get("mode") not in MODES or not isinstance(plan.get("time_zone"), str):
        raise ValueError("plan needs a mode and a time_zone")
    if not all(isinstance(m, int) and m >= 0 for m in alarm_minutes):
        raise ValueError("alarm_minutes must be whole minutes, not negative")
    if not (isinstance(checkpoint_hour, int) and 0 <= checkpoint_hour <= 23):
        raise ValueError("checkpoint_hour must be 0 to 23")
    for session in sessions:
        if not isinstance(session, dict) or not all(key in session for key in SESSION_KEYS):
            raise ValueError(f"each session needs {', '.join(SESSION_KEYS)}")
        if session["status"] not in ("done", "planned"):
            raise ValueError("session status must be done or planned")
    if [s["day"] for s in sessions] != sorted(s["day"] for s in sessions):
        raise ValueError("sessions must be sorted by day")
