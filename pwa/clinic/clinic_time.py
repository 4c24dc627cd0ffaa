"""Moments and days as the console says them, in the clinic's time zone.

"today 09:12", "yesterday 18:40", "Mon 7 Dec, 14:05", and the year when it is not this
year ("Mon 7 Dec 2025, 14:05"): what a person reads at a glance, rather than a UTC stamp.
No Flask here: the caller gives the zone and the moment that counts as now.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

NEAR_DAYS = {-1: "yesterday", 0: "today", 1: "tomorrow"}
# English whatever the server's locale (strftime's %a and %b would follow it).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def spoken(ms: int, zone: str, now_ms: int) -> str:
    """A stored timestamp (ms since 1970, UTC) as the clinic reads it."""
    moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(zone))
    today = today_in(zone, now_ms)
    near = NEAR_DAYS.get((moment.date() - today).days)
    clock = f"{moment:%H:%M}"
    if near:
        return f"{near} {clock}"
    return f"{spoken_day(moment.date(), today)}, {clock}"


def spoken_day(day: date | str, today: date) -> str:
    """A calendar day: "Mon 7 Dec", with the year when it is not `today`'s year."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    words = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return words if day.year == today.year else f"{words} {day.year}"


def today_in(zone: str, now_ms: int) -> date:
    """The calendar day it is in the zone at `now_ms`."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(ZoneInfo(zone)).date()
