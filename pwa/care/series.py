"""The treatment series: a plan's sessions, done and planned, as the merge of its session events.

A plan starts with the sessions given at onboarding (`plan["sessions"]`, all
done, and `plan["next_session"]`, planned).  Those become seed events that
any real edit outranks (their clock is 0), so every copy of the app computes
the same series from the plan plus the session events it has.  Sessions are
numbered in date order, continuing from the number the first one was given
("session 2" if the client had one before using the app).  No Flask here;
static/js/lib/series.js does the same on the device.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

from . import merge

SEED_DEVICE = "plan-seed"
# Bounds on what a device may write, so one plan file stays small: every session a plan
# ever holds, counting those removed (twice what it may plan at set-up, plans.py).
MAX_SESSIONS_EVER = 100
# Dates further from today than this are typing mistakes, not appointments.
FURTHEST_BACK = timedelta(days=3 * 365)
FURTHEST_AHEAD = timedelta(days=2 * 365)
# A phone's clock and the server's may disagree by a day at the edges of a day.
DAY_SLACK = timedelta(days=1)


class SeriesError(ValueError):
    """A session edit does not fit the plan; the message names the field."""


def seed_events(plan: dict) -> list[dict]:
    """The onboarding answers as session events that any later edit outranks.

    A plan set up before its first session (`starts_planned`) seeds that session as
    planned; the phone asks on the day after it whether it happened.
    """
    status = "planned" if plan.get("starts_planned") else "done"
    seeds = [
        _seed(f"initial-{session['number']}", session["day"], status)
        for session in plan["sessions"]
    ]
    if plan.get("next_session"):
        seeds.append(_seed("initial-next", plan["next_session"], "planned"))
    return seeds


def build(plan: dict, events: list[dict]) -> list[dict]:
    """The sessions that stand (cancelled ones left out), in date order, numbered.

    Each is {"session", "day", "time", "status", "number", "sequence"}, where
    `sequence` counts the edits to that session (a calendar's SEQUENCE).
    """
    state = merge.merge_sessions({}, seed_events(plan) + list(events))
    edits: dict[str, int] = {}
    for event in events:
        if merge.is_session_event(event):
            edits[event["session"]] = edits.get(event["session"], 0) + 1
    standing = sorted(
        (event for event in state.values() if event["status"] != "cancelled"),
        key=lambda event: (event["day"], event["time"] or "", event["session"]),
    )
    return [
        {
            "session": event["session"],
            "day": event["day"],
            "time": event["time"],
            "status": event["status"],
            "number": _first_number(plan, standing) + index,
            "sequence": edits.get(event["session"], 0),
        }
        for index, event in enumerate(standing)
    ]


def total_sessions(plan: dict, series: list[dict]) -> int:
    """How many sessions the series has in all: the plan's count, or more if more were added."""
    return max(plan["planned_sessions"], series[-1]["number"] if series else 0)


def current_session(series: list[dict], today: date) -> dict | None:
    """The latest done session on or before `today`: day 0 of the aftercare run now."""
    done = [s for s in series if s["status"] == "done" and date.fromisoformat(s["day"]) <= today]
    return done[-1] if done else None


def next_window(series: list[dict], schedule: dict, today: date) -> dict | None:
    """When the next session could be: earliest and latest dates after the current one."""
    current = current_session(series, today)
    if current is None:
        return None
    interval = schedule["series"]
    start = date.fromisoformat(current["day"])
    planned = [s for s in series if s["status"] == "planned" and s["day"] > current["day"]]
    return {
        "after": current["session"],
        "earliest": (start + timedelta(days=interval["interval_min_days"])).isoformat(),
        "latest": (start + timedelta(days=interval["interval_max_days"])).isoformat(),
        "planned": planned[0] if planned else None,
    }


def first_done_day(plan: dict, events: list[dict]) -> date:
    """The earliest done session: the first day a tick may belong to."""
    done = [s["day"] for s in build(plan, events) if s["status"] == "done"]
    return date.fromisoformat(min(done) if done else plan["sessions"][0]["day"])


def check_session_events_fit(
    plan: dict, stored: list[dict], batch: list[dict], today: date
) -> None:
    """Session edits must keep dates near today, a done session not in the future,
    and at most MAX_SESSIONS_EVER sessions.

    Only what no honest phone sends is refused: a refused batch stays in the
    phone's outbox, so a rule that two devices' edits could break together
    (say "keep one done session") belongs in the form, not here.
    """
    for index, event in enumerate(batch):
        if not merge.is_session_event(event):
            continue
        day = date.fromisoformat(event["day"])
        where = f"events[{index}]"
        if not today - FURTHEST_BACK <= day <= today + FURTHEST_AHEAD:
            raise SeriesError(f"{where}.day: must be within 3 years before and 2 years after today")
        if event["status"] == "done" and day > today + DAY_SLACK:
            raise SeriesError(f"{where}.status: a session in the future cannot be done yet")
    ids = {s["session"] for s in [*seed_events(plan), *stored, *batch] if "session" in s}
    if len(ids) > MAX_SESSIONS_EVER:
        raise SeriesError(f"events: a plan may have at most {MAX_SESSIONS_EVER} sessions")


def _first_number(plan: dict, standing: list[dict]) -> int:
    # Sessions before the app was used count too ("this is my second session"),
    # less any that were since added to the app before the first one.
    first = plan["sessions"][0]
    earlier = sum(1 for event in standing if event["day"] < first["day"])
    return max(1, first["number"] - earlier)


def _seed(session_id: str, day: str, status: str) -> dict[str, Any]:
    return {
        "id": f"seed-{session_id}",
        "device": SEED_DEVICE,
        "counter": 0,
        "ts": 0,
        "session": session_id,
        "day": day,
        "time": None,
        "status": status,
    }
