"""Adherence at a glance, for the clinic console: how much of the current run was ticked.

Pure: from a plan, its series, its ticks and the protocol's schedule.  A day
counts as complete when every item of that day (in the plan's mode) is
ticked done.  No Flask, no storage.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from . import protocol
from . import series


def run_progress(plan: dict, sessions: list[dict], ticks: dict, schedule: dict, today: date):
    """{"session", "day_number", "days_complete", "days_counted"} for the current run, or None."""
    current = series.current_session(sessions, today)
    if current is None:
        return None
    start = date.fromisoformat(current["day"])
    last = min((today - start).days, schedule["recovery_days"])
    complete = 0
    # Today is still under way: only finished days count.
    for number in range(0, last):
        day = (start + timedelta(days=number)).isoformat()
        items = protocol.day_items(schedule, plan, number)
        if all(ticks.get((day, item), {}).get("done") for item in items):
            complete += 1
    return {
        "session": current["number"],
        "day_number": (today - start).days,
        "days_complete": complete,
        "days_counted": max(0, last),
    }
