"""What every backend enforces alike: the per-plan limits, the page size, and how a batch
of events is taken in (checked, one device's own, stamped no later than its arrival)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from typing import Any

from ..care import merge
from .contract import TooMany

# Plan ids are opaque random ids: nothing that could name another path, or sort oddly.
PLAN_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# "Last sync" shown to the clinic is kept to the minute; more would be a write per poll.
LAST_SEEN_EVERY_MS = 60 * 1000
# A person has a phone or two and perhaps a tablet; these keep a plan small whatever a
# caller does with a valid credential.
MAX_DEVICES = 10
# Removed devices stay recorded (an id once used is never let in again); this bounds them.
MAX_DEVICES_EVER = 40
MAX_WAITING_LINKS = 5
# Only each box's winning tick is kept, with every session edit (merge.compact), so a
# plan holds about one event per box ever ticked: a 12-session series ticked in full every
# day on three devices for a year keeps 2,803 of the 12,575 events sent, 469 KB as a file
# (tests/test_plan_bounds.py).  The cap leaves room for twice that and bounds what a
# caller with a valid credential can make a plan hold (about 1 MB as a file).
MAX_EVENTS = 6000
# Events in one sync answer; a phone that is further behind asks again from the cursor.
PAGE_SIZE = 500
# A push subscription whose service keeps failing waits this long after its first
# failure, twice as long after each next one, and never longer than the last.
PUSH_FIRST_WAIT_MS = 60 * 1000
PUSH_LONGEST_WAIT_MS = 6 * 60 * 60 * 1000
# Wrong logins are counted in windows this long from the first; a good login forgets them.
LOGIN_FAILURE_WINDOW_MS = 60 * 60 * 1000
# The wait after the `free`-th wrong login, 2 s, doubles with each next one (capped well
# before a float could overflow; `longest` caps it anyway).
LOGIN_FIRST_WAIT_MS = 2000
LOGIN_MOST_DOUBLINGS = 30


def check_plan_id(plan_id: Any) -> str:
    """Return `plan_id` if it has the form of a plan id, else raise ValueError."""
    if not isinstance(plan_id, str) or not PLAN_ID.fullmatch(plan_id):
        raise ValueError("plan id must be 16 to 64 characters of A-Z a-z 0-9 _ -")
    return plan_id


def well_formed(plan_id: Any) -> bool:
    """Whether `plan_id` has the form of a plan id."""
    try:
        check_plan_id(plan_id)
    except ValueError:
        return False
    return True


def credential_matches(device: dict | None, credential_hash: Any) -> bool:
    """Whether the device ({credential_hash, revoked, …}, or None) accepts this hash."""
    if device is None or device["revoked"] or not isinstance(credential_hash, str):
        return False
    # Constant-time, so response times do not reveal how much of a guess was right.
    return hmac.compare_digest(device["credential_hash"].encode(), credential_hash.encode())


def check_hash(value: Any) -> None:
    """Raise ValueError unless `value` can be a secret's hash (a non-empty string)."""
    if not isinstance(value, str) or not value:
        raise ValueError("token hash must be a non-empty string")


def check_new_device(device_id: Any, credential_hash: Any) -> None:
    """Raise ValueError unless a new device's id and credential hash are well formed."""
    if not isinstance(device_id, str) or not merge.DEVICE_ID.fullmatch(device_id):
        raise ValueError("device id must be 8 to 64 characters of A-Z a-z 0-9 _ -")
    if not isinstance(credential_hash, str) or not credential_hash:
        raise ValueError("credential hash must be a non-empty string")


def accepted_events(device_id: str, events: Sequence[dict], now_ms: int) -> list[dict]:
    """The batch as a backend stores it; raises merge.EventError for a malformed batch or
    an event of another device."""
    # Nothing malformed is ever stored, whoever calls: a batch not checked already is
    # checked here (a merge.Batch has been; validating 200 events twice was measurable).
    if isinstance(events, merge.Batch):
        batch = events
    else:
        batch = merge.validate_batch(events, max_events=None)
    for index, event in enumerate(batch):
        # A device may only speak for itself: another device's id would let it
        # win every same-millisecond tie that the device id decides.
        if event["device"] != device_id:
            raise merge.EventError(f"events[{index}].device: must be the sending device's id")
    return [merge.arrived(event, now_ms) for event in batch]


def check_room_for_events(count: int) -> None:
    """Raise TooMany if a plan would hold more than MAX_EVENTS events."""
    if count > MAX_EVENTS:
        raise TooMany(
            f"This plan holds {MAX_EVENTS:,} saved ticks and session changes, the most one "
            "plan can keep, so new ones are not saved on the server. Your clinic (or a new "
            "plan) can start afresh."
        )


def login_wait_ms(failures: int, free: int, longest_ms: int) -> int:
    """The wait a wrong login sets when it is the `failures`-th in its window (0: none).

    The PostgreSQL backend computes the same in SQL (postgres/clinic_store.py); the storage
    contract tests hold the two to one answer."""
    if failures < free:
        return 0
    doublings = min(failures - free, LOGIN_MOST_DOUBLINGS)
    return min(longest_ms, LOGIN_FIRST_WAIT_MS * 2**doublings)
