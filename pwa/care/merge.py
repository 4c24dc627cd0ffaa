"""Events (ticks and session edits): their validation and the last-writer-wins merge.

Pure functions over plain dicts; no Flask, no storage.  A tick event records
one checkbox change on one device; a session event records one change to one
session of the treatment series (added, moved, logged as done, cancelled).
Both travel in the same sync batches and follow the same order.  Every
copy of the app (each phone, the server) merges the events it has, and
because the merge is commutative, associative and idempotent they all reach
the same state whatever order or grouping the events arrive in, and however often.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

# The exact fields of each kind of event; anything else is refused rather than stored.
TICK_FIELDS = ("id", "device", "counter", "ts", "day", "item", "done")
SESSION_FIELDS = ("id", "device", "counter", "ts", "session", "day", "time", "status")
SESSION_STATUSES = ("done", "planned", "cancelled")
# JavaScript numbers are exact integers only below 2**53, and the client is JavaScript.
MAX_INT = 2**53
# The phone's outbox sends 200 at a time (static/js/lib/sync.js); a bigger batch would only
# let one request hold a worker longer while other plans wait (README, "Abuse figures").
MAX_BATCH = 200

EVENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
ITEM_ID = re.compile(r"[a-z0-9_-]{1,64}")
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# [0-9] rather than \d: \d also matches other scripts' digits.
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Key = tuple[str, str]


class EventError(ValueError):
    """An event or batch is malformed; the message names the field."""


class Batch(tuple):
    """Events that passed `validate_batch`, in order, each id once.

    Only `validate_batch` and `Batch.only` make one, so whoever receives a Batch (the
    storage) knows it was checked and need not check its events a second time.
    """

    __slots__ = ()

    def only(self, keep: Iterable[int]) -> Batch:
        """The events at the indexes in `keep`, in the batch's order."""
        wanted = set(keep)
        return Batch(event for index, event in enumerate(self) if index in wanted)


def event_order(event: dict[str, Any]) -> tuple[int, str, int, str]:
    """The total order of events: the greatest one is the last writer and wins."""
    # Clock first: that is what the user did last.  Two devices can tick in
    # the same millisecond and neither knows of the other, so any fixed rule
    # is as right as another; the device id is one every replica knows, so
    # all of them pick the same winner.  One device in one millisecond (a
    # double tap) is put in order by its counter, which it bumps on every
    # tick, so the tap made last wins whatever order the events arrive in.
    return (event["ts"], event["device"], event["counter"], event["id"])


def arrived(event: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The event as the server stores it: stamped no later than the moment it arrived.

    A phone whose clock runs fast would otherwise win every merge against edits made
    after its own, for as long as its clock is ahead.  Nothing can have been done after
    it reached the server, so arrival is a true upper bound.  Clamping keeps the order
    of one device's edits: its stamps rise with each edit of a box (the phone stamps
    one past the newest it knows), min() with a non-decreasing arrival time keeps them
    non-decreasing, and a tie falls to the counter, which the phone bumps on every edit.
    """
    if event["ts"] <= now_ms:
        return event
    return {**event, "ts": now_ms}


def is_session_event(event: dict[str, Any]) -> bool:
    """Session events carry a `session` field; everything else is a tick."""
    return "session" in event


def fields_of(event: dict[str, Any]) -> tuple[str, ...]:
    """The exact fields of this kind of event."""
    return SESSION_FIELDS if is_session_event(event) else TICK_FIELDS


def merge(state: dict[Key, dict[str, Any]], events: Iterable[dict[str, Any]]) -> dict[Key, dict]:
    """Return a new state: for each (day, item), the tick with the greatest order.

    Session events in `events` are skipped: see `merge_sessions`.
    """
    merged = dict(state)
    for event in events:
        if is_session_event(event):
            continue
        key = (event["day"], event["item"])
        current = merged.get(key)
        if current is None or _rank(event) > _rank(current):
            merged[key] = event
    return merged


def merge_sessions(
    state: dict[str, dict[str, Any]], events: Iterable[dict[str, Any]]
) -> dict[str, dict]:
    """Return a new state: for each session id, the session event with the greatest order."""
    merged = dict(state)
    for event in events:
        if not is_session_event(event):
            continue
        current = merged.get(event["session"])
        if current is None or _rank(event) > _rank(current):
            merged[event["session"]] = event
    return merged


def compact(
    stored: Iterable[dict[str, Any]], fresh: Iterable[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Which of `fresh` to keep, and which stored ticks they (or other stored ticks) supersede.

    Only the greatest tick of each box decides the merge, so a replica that keeps just
    those reaches the same state as one that keeps every tick ever sent: merging what
    is kept gives what merging everything gives.  Session events are all kept: a
    session's edits are few, and their count is the calendar's SEQUENCE (series.build).
    `fresh` must hold no id that `stored` has.  Returns (fresh events to store, stored
    ticks to drop), the same objects that came in, in the order they came.
    """
    stored, fresh = list(stored), list(fresh)
    # merge() keeps the winning objects themselves, so identity says which they are.
    winners = {id(event) for event in merge({}, [*stored, *fresh]).values()}

    def kept(event: dict[str, Any]) -> bool:
        return is_session_event(event) or id(event) in winners

    return [e for e in fresh if kept(e)], [e for e in stored if not kept(e)]


def _rank(event: dict[str, Any]) -> tuple:
    # Ids are unique once validated, so the content never decides in practice;
    # it is here so that even two different events under one id merge the
    # same way in any order, keeping the merge laws unconditional.
    if is_session_event(event):
        return (*event_order(event), event["day"], event["time"] or "", event["status"])
    return (*event_order(event), event["done"])


def validate_event(raw: Any, where: str = "event") -> dict[str, Any]:
    """Return a clean copy of one event, or raise EventError naming the bad field."""
    if not isinstance(raw, dict):
        raise EventError(f"{where}: must be an object")
    fields = fields_of(raw)
    for name in fields:
        if name not in raw:
            raise EventError(f"{where}.{name}: is required")
    unknown = sorted(str(name) for name in raw if name not in fields)
    if unknown:
        raise EventError(f"{where}.{unknown[0]}: unknown field")
    for name in fields:
        problem = _CHECKS[name](raw[name])
        if problem:
            raise EventError(f"{where}.{name}: {problem}")
    return {name: raw[name] for name in fields}


def validate_batch(raw: Any, max_events: int | None = MAX_BATCH) -> Batch:
    """Validate a whole batch (all or nothing); exact repeats of an event are dropped."""
    if not isinstance(raw, list):
        raise EventError("events: must be a list")
    if not raw:
        raise EventError("events: must hold at least one event")
    if max_events is not None and len(raw) > max_events:
        raise EventError(f"events: must hold at most {max_events} events")
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, item in enumerate(raw):
        event = validate_event(item, f"events[{index}]")
        first = seen.setdefault(event["id"], (index, event))
        if first[1] != event:
            raise EventError(f"events[{index}].id: repeats events[{first[0]}] with other content")
    return Batch(event for _, event in seen.values())


def _text(pattern: re.Pattern[str], description: str):
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            return f"must be {description}"
        return None

    return check


def _whole_number(value: Any) -> str | None:
    # type() rather than isinstance(): True and False are ints to Python.
    if type(value) is not int or not 0 <= value < MAX_INT:
        return "must be a whole number from 0 to 2**53 - 1"
    return None


def _day(value: Any) -> str | None:
    if not isinstance(value, str) or not DAY.fullmatch(value):
        return "must be a date YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "must be a real calendar date"
    return None


def _boolean(value: Any) -> str | None:
    return None if type(value) is bool else "must be true or false"


def _time(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and TIME.fullmatch(value)):
        return None
    return "must be null or a time HH:MM (24-hour)"


def _status(value: Any) -> str | None:
    return None if value in SESSION_STATUSES else f"must be one of {', '.join(SESSION_STATUSES)}"


_CHECKS = {
    "id": _text(EVENT_ID, "8 to 64 characters of A-Z a-z 0-9 _ -"),
    "device": _text(DEVICE_ID, "8 to 64 characters of A-Z a-z 0-9 _ -"),
    "counter": _whole_number,
    "ts": _whole_number,
    "day": _day,
    "item": _text(ITEM_ID, "1 to 64 characters of a-z 0-9 _ -"),
    "done": _boolean,
    "session": _text(SESSION_ID, "1 to 64 characters of A-Z a-z 0-9 _ -"),
    "time": _time,
    "status": _status,
}
