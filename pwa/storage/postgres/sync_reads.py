"""The reads a sync makes, each as one statement: one snapshot, one round trip.

A phone's sync is, most of the time, a poll or a retry: nothing to store, a page of
events to send.  Its two reads (the plan with its devices and session edits, to check
the credential and the batch; then whether the batch holds anything new, with the page)
are each a single SELECT run without a transaction (a statement sees one snapshot), so a
sync that stores nothing costs two round trips to PostgreSQL and takes no lock.
"""

from __future__ import annotations

from ...care import merge
from ..contract import PlanNotFound
from .common import page_of
from .common import public_event
from .database import Database

_SNAPSHOT = """
    SELECT p.plan,
      (SELECT coalesce(json_agg(json_build_object(
          'device', d.device_id, 'name', d.name, 'credential_hash', d.credential_hash,
          'added_ms', d.added_ms, 'last_seen_ms', d.last_seen_ms, 'revoked', d.revoked)
          ORDER BY d.number), '[]')
        FROM devices d WHERE d.plan_id = p.plan_id) AS devices,
      (SELECT coalesce(json_agg(e ORDER BY e.seq), '[]')
        FROM events e WHERE e.plan_id = p.plan_id AND e.session IS NOT NULL) AS sessions
    FROM plans p WHERE p.plan_id = %(plan_id)s
"""

# The plan's cursor, the stored events a batch would meet (its ids, and the ticks of its
# boxes), and a page after the cursor (one more than the limit: whether there is more).
_SETTLED = """
    SELECT p.seq,
      (SELECT coalesce(json_agg(e), '[]') FROM events e
        WHERE e.plan_id = p.plan_id
          AND (e.event_id = ANY(%(ids)s::text[])
               OR (e.session IS NULL AND (e.day, e.item) IN
                   (SELECT * FROM unnest(%(days)s::text[], %(items)s::text[]))))) AS met,
      (SELECT coalesce(json_agg(page ORDER BY page.seq), '[]') FROM (
          SELECT * FROM events e WHERE e.plan_id = p.plan_id AND e.seq > %(cursor)s
          ORDER BY e.seq LIMIT %(rows)s) AS page) AS page
    FROM plans p WHERE p.plan_id = %(plan_id)s
"""


def snapshot(db: Database, plan_id: str) -> tuple[dict, dict[str, dict], list[dict]] | None:
    """The plan, its devices by id and its session edits; None if there is no such plan."""
    rows = db.read_one(_SNAPSHOT, {"plan_id": plan_id})
    if not rows:
        return None
    plan, found, sessions = rows[0]
    return plan, {d["device"]: d for d in found}, [public_event(e) for e in sessions]


def settled(db: Database, plan_id: str, batch: list[dict], cursor: int, limit: int | None):
    """The page after `cursor` if `batch` would store nothing (every event stored already,
    or a tick that loses its box), else None: the batch needs the write."""
    ticks = [event for event in batch if not merge.is_session_event(event)]
    rows = db.read_one(
        _SETTLED,
        {
            "plan_id": plan_id,
            "ids": [event["id"] for event in batch],
            "days": [tick["day"] for tick in ticks],
            "items": [tick["item"] for tick in ticks],
            "cursor": cursor,
            "rows": (limit + 1) if limit is not None else None,  # LIMIT NULL: all
        },
    )
    if not rows:
        raise PlanNotFound(plan_id)
    seq, met, page = rows[0]
    known = {event["event_id"] for event in met}
    fresh = [event for event in batch if event["id"] not in known]
    stored_ticks = [public_event(event) for event in met if event["session"] is None]
    if merge.compact(stored_ticks, fresh)[0]:
        return None
    return page_of(page, seq, limit)
