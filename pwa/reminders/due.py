"""Which reminders are due right now: appointments and the daily aftercare nudge.

Pure: no Flask, no storage, no sending.  A sender calls `due_reminders` every
few minutes and logs each key it sends, so each reminder goes out once.

Each reminder has a window of real instants, from a wall-clock time in the
plan's zone until an expiry; it is due while scheduled <= now < expiry, outside
quiet hours.  A wall time skipped by a spring-forward change means the first
real instant after it (the change); one repeated at fall-back, its first
occurrence.  Windows, in local time:

- session-tomorrow: evening_time on the day before a planned appointment, until
  the midnight that starts the appointment's day.
- session-today: 2 hours before a planned appointment (not before the midnight
  that starts its day) until it starts; without a time, from the morning
  (quiet_end, or 08:00 without quiet hours) until the day ends at midnight.
- aftercare: daily_time in plan day D (days start at day_start_hour, days.py;
  an earlier daily_time is on the next calendar date) until plan day D ends,
  while D is in the run of the latest done session and an item is not ticked.

Scheduled inside quiet hours, a reminder starts when they end; a window closes
when quiet hours next begin, if before its expiry.  So each reminder is due over
one unbroken stretch: a scheduler running every few minutes sends it once even
without its sent-log.  Texts may show on a lock screen: no product, no treatment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..care import protocol
from ..care.days import local_day

TITLES = {
    "session-tomorrow": "Appointment tomorrow",
    "session-today": "Appointment today",
    "aftercare": "Today's aftercare",
}
DEFAULT_PREFS = dict(daily_time=None, quiet_start="21:00", quiet_end="08:00", evening_time="18:00")
HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
# The morning reminder of an appointment without a time, when there are no quiet hours.
MORNING = time(8)
LEAD = timedelta(hours=2)
# UTC offsets are sampled this far apart to find changes; real zones change months apart.
SCAN = timedelta(hours=3)


class PrefsError(ValueError):
    """Reminder preferences cannot be used; the message names the field."""


@dataclass(frozen=True)
class Reminder:
    key: str  # stable and unique: the sender logs it so each reminder is sent once, ever
    kind: str  # one of TITLES
    title: str
    body: str
    url: str  # "/sessions/" for appointments, "/" (Today) for aftercare


def check_prefs(raw: Any) -> dict:
    """The reminder preferences, checked, with defaults for the fields left out."""
    if not isinstance(raw, dict):
        raise PrefsError("prefs: must be an object")
    extra = set(raw) - set(DEFAULT_PREFS)
    if extra:
        raise PrefsError(f"prefs: unknown {sorted(map(str, extra))}")
    prefs = {**DEFAULT_PREFS, **raw}
    for field, value in prefs.items():
        if field == "daily_time" and value is None:
            continue  # no daily aftercare reminder
        if not isinstance(value, str) or not HHMM.fullmatch(value):
            off = " or null (off)" if field == "daily_time" else ""
            raise PrefsError(f"prefs.{field}: must be a 24-hour time HH:MM{off}")
    return prefs


def due_reminders(
    *, plan: dict, sessions: list[dict], ticks: dict, schedule: dict, prefs: dict, now: datetime
) -> list[Reminder]:
    """The reminders to send at `now` (an aware datetime), sorted by key."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must carry a time zone")
    now = now.astimezone(UTC)
    at = {k: v and time.fromisoformat(v) for k, v in check_prefs(prefs).items()}
    clock = _Clock(ZoneInfo(plan["time_zone"]), at["quiet_start"], at["quiet_end"])
    candidates = [
        *_sessions(clock, sessions, at, now),
        *_aftercare(clock, plan, sessions, ticks, schedule, at["daily_time"], now),
    ]
    due = {r.key: r for scheduled, expiry, r in candidates if clock.due(scheduled, expiry, now)}
    return [due[key] for key in sorted(due)]


Candidate = tuple[datetime, datetime, Reminder]


def _sessions(clock: _Clock, sessions, at: dict, now: datetime) -> Iterator[Candidate]:
    morning = at["quiet_end"] if at["quiet_start"] != at["quiet_end"] else MORNING
    today = clock.wall(now).date()
    for session in sessions:
        day = date.fromisoformat(session["day"])
        if session["status"] != "planned" or not -1 <= (day - today).days <= 2:
            continue
        key, starts_at = f"{session['session']}:{session['day']}", session.get("time")
        when = f" at {starts_at}" if starts_at else ""
        midnight = clock.instant(day, time(0))
        body = f"Your skin appointment is tomorrow{when}."
        tomorrow = _reminder("session-tomorrow", key, body)
        yield clock.instant(day - timedelta(days=1), at["evening_time"]), midnight, tomorrow
        if starts_at:
            starts = clock.instant(day, time.fromisoformat(starts_at))
            scheduled, expiry = max(starts - LEAD, midnight), starts
        else:
            scheduled = clock.instant(day, morning)
            expiry = clock.instant(day + timedelta(days=1), time(0))
        body = f"Your skin appointment is today{when}."
        yield scheduled, expiry, _reminder("session-today", key, body)


def _aftercare(clock, plan, sessions, ticks, schedule, daily, now) -> Iterator[Candidate]:
    if daily is None:
        return
    start_hour = plan["day_start_hour"]
    done = [date.fromisoformat(s["day"]) for s in sessions if s["status"] == "done"]
    today = local_day(now, plan["time_zone"], start_hour)
    for day in (today - timedelta(days=1), today):
        zero = max((d for d in done if d <= day), default=None)
        if zero is None or (day - zero).days > schedule["recovery_days"]:
            continue
        items = protocol.day_items(schedule, plan, (day - zero).days)
        ticked = (ticks.get((day.isoformat(), item)) or {} for item in items)
        left = sum(1 for event in ticked if event.get("done") is not True)
        if not left:
            continue
        on = day + timedelta(days=1) if daily.hour < start_hour else day
        body = f"Today's aftercare list has {left} item{'' if left == 1 else 's'} left."
        yield (
            clock.instant(on, daily),
            clock.instant(day + timedelta(days=1), time(start_hour)),
            _reminder("aftercare", day.isoformat(), body),
        )


def _reminder(kind: str, key: str, body: str) -> Reminder:
    url = "/" if kind == "aftercare" else "/sessions/"
    return Reminder(f"{kind}:{key}", kind, TITLES[kind], body, url)


class _Clock:
    """Wall-clock times of one zone as instants, and its quiet hours."""

    def __init__(self, zone: ZoneInfo, quiet_start: time, quiet_end: time):
        self.zone, self.quiet_start, self.quiet_end = zone, quiet_start, quiet_end

    def wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def instant(self, day: date, at: time) -> datetime:
        """`at` on `day`: its first occurrence, or the first real instant after it if skipped."""
        naive = datetime.combine(day, at)
        first = naive.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        if self.wall(first) == naive:
            return first
        other = naive.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        return self._change(min(first, other), max(first, other))

    def quiet(self, instant: datetime) -> bool:
        start, end, now = self.quiet_start, self.quiet_end, self.wall(instant).time()
        if start <= end:
            return start <= now < end  # start == end: no quiet hours
        return now >= start or now < end  # wraps midnight

    def due(self, scheduled: datetime, expiry: datetime, now: datetime) -> bool:
        if not scheduled <= now < expiry or self.quiet(now):
            return False
        start = self._next(scheduled, expiry, False) if self.quiet(scheduled) else scheduled
        return start <= now < self._next(start, expiry, True)

    def _next(self, after: datetime, until: datetime, quiet: bool) -> datetime:
        """The first instant in (after, until) whose quiet() is `quiet`, else `until`."""
        if self.quiet_start == self.quiet_end or after >= until:
            return until
        # quiet() flips only where the wall clock reaches a bound or the UTC offset changes.
        found = self._changes(after, until)
        first_day = self.wall(after).date() - timedelta(days=1)
        for n in range((self.wall(until).date() - first_day).days + 2):
            for bound in (self.quiet_start, self.quiet_end):
                naive = datetime.combine(first_day + timedelta(days=n), bound)
                for fold in (0, 1):
                    instant = naive.replace(tzinfo=self.zone, fold=fold).astimezone(UTC)
                    if self.wall(instant) == naive:
                        found.append(instant)
        hits = (t for t in found if after < t < until and self.quiet(t) == quiet)
        return min(hits, default=until)

    def _changes(self, after: datetime, until: datetime) -> list[datetime]:
        """The instants in (after, until] at which the zone's UTC offset changes."""
        found, low = [], after
        while low < until:
            high = min(low + SCAN, until)
            if low.astimezone(self.zone).utcoffset() != high.astimezone(self.zone).utcoffset():
                found.append(self._change(low, high))
            low = high
        return found

    def _change(self, low: datetime, high: datetime) -> datetime:
        """The first instant with the offset of `high`, given one change in (low, high]."""
        before = low.astimezone(self.zone).utcoffset()
        while high - low > timedelta(microseconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self.zone).utcoffset() == before:
                low = middle
            else:
                high = middle
        return high
