"""Which day it is for a plan: the phone's local calendar, with a day-start hour.

A tick at 1 a.m. belongs to the evening before, so the local day starts at
`day_start_hour` (default 03:00), not at midnight.  Dates are local calendar
dates in the plan's IANA time zone, never UTC dates.  static/js/lib/days.js
does the same on the device; tests/vectors/day_numbers.json keeps both honest.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAY_START_HOUR = 3


def local_day(
    instant: datetime, time_zone: str, day_start_hour: int = DEFAULT_DAY_START_HOUR
) -> date:
    """The plan's calendar date at `instant` (an aware datetime)."""
    if instant.tzinfo is None:
        raise ValueError("instant must carry a time zone")
    local = instant.astimezone(ZoneInfo(time_zone))
    # Wall-clock arithmetic: subtract hours from the local time, not the instant,
    # so a DST change that night cannot move the boundary.
    return (local.replace(tzinfo=None) - timedelta(hours=day_start_hour)).date()


def day_number(
    session_date: date,
    instant: datetime,
    time_zone: str,
    day_start_hour: int = DEFAULT_DAY_START_HOUR,
) -> int:
    """Days since the session (0 on the session day; negative before it)."""
    return (local_day(instant, time_zone, day_start_hour) - session_date).days
