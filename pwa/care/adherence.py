"""Adherence at a glance, for the clinic console: how much of the current run was ticked.

Pure: from a plan, its series, its ticks and the protocol's schedule.  Only
finished days count, and only from the day the client started using the app
(a client invited on day 20 is not failing days 0 to 19).  The figure is the
share of items ticked, not of perfect days, with the protocol's key items (sun
protection) counted on their own.  No Flask, no storage.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from . import protocol
from . import series
from .days import local_day

# The items the console calls out on their own, by a short name: for PIH, sun protection.
KEY_ITEMS = {"mineral-spf": "Sun protection"}


def started_day(plan: dict, phones: list[dict]) -> date | None:
    """The plan's day on which the client's first phone was linked (`added_ms` of each
    device): days before it are not hers to have ticked."""
    if not phones:
        return None
    first_ms = min(phone["added_ms"] for phone in phones)
    return local_day(
        datetime.fromtimestamp(first_ms / 1000, UTC), plan["time_zone"], plan["day_start_hour"]
    )


def run_progress(
    plan: dict,
    sessions: list[dict],
    ticks: dict,
    schedule: dict,
    today: date,
    started: date | None = None,
) -> dict | None:
    """The current run's figures, or None before a session has been done.

    {"session", "day_number", "days_counted", "days_complete", "days_before_start",
    "items_done", "items_due", "key": [{"id", "label", "days_done", "days_due"}]}
    """
    current = series.current_session(sessions, today)
    if current is None:
        return None
    start = date.fromisoformat(current["day"])
    last = min((today - start).days, schedule["recovery_days"])
    first = max(0, (started - start).days) if started else 0
    mode = schedule["modes"][plan["mode"]]
    complete = done = due = 0
    key = {item: [0, 0] for item in KEY_ITEMS if item in mode["items"]}
    # Today is still under way: only finished days count.
    for number in range(first, last):
        day = (start + timedelta(days=number)).isoformat()
        items = protocol.day_items(schedule, plan, number)
        ticked = [item for item in items if ticks.get((day, item), {}).get("done")]
        complete += len(ticked) == len(items)
        done, due = done + len(ticked), due + len(items)
        for item, counts in key.items():
            if item in items:
                counts[0] += item in ticked
                counts[1] += 1
    return {
        "session": current["number"],
        "day_number": (today - start).days,
        "days_counted": max(0, last - first),
        "days_complete": complete,
        "days_before_start": min(first, max(0, last)),
        "items_done": done,
        "items_due": due,
        "key": [
            {"id": item, "label": KEY_ITEMS[item], "days_done": d, "days_due": n}
            for item, (d, n) in key.items()
            if n
        ],
    }
