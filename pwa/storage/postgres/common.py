"""What the PostgreSQL plan store's parts share: the database, the plan's row lock, and
how rows read back as the dicts the rest of the app knows."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select

from ..contract import Page
from ..contract import PlanNotFound
from .database import Database
from .schema import devices
from .schema import plans


def check_json(value: Any) -> Any:
    """`value` if it can be stored as JSON (no NaN or infinity), else ValueError."""
    json.dumps(value, allow_nan=False)
    return value


def public_event(row: Any) -> dict:
    """An events row (a Row, or a row as JSON) as its device sent it."""
    row = row if isinstance(row, dict) else row._mapping
    event = {"id": row["event_id"], "device": row["device"], "counter": row["counter"],
             "ts": row["ts"]}  # fmt: skip
    if row["session"] is not None:
        return {
            **event,
            "session": row["session"],
            "day": row["day"],
            "time": row["time"],
            "status": row["status"],
        }
    return {**event, "day": row["day"], "item": row["item"], "done": row["done"]}


def page_of(rows: list, seq: int, limit: int | None) -> Page:
    """Events rows after a cursor, oldest first (one more than `limit` if there is more),
    as a Page: a cut page ends at its last event's seq, where the next one starts."""
    if limit is not None and len(rows) > limit:
        shown = rows[:limit]
        last = shown[-1]
        return Page([public_event(r) for r in shown], public_seq(last), True)
    return Page([public_event(r) for r in rows], seq, False)


def public_seq(row: Any) -> int:
    return row["seq"] if isinstance(row, dict) else row.seq


class PlanTables:
    """A part of the plan store: each method one transaction on `db`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _lock(self, connection: Connection, plan_id: str, missing_ok: bool = False):
        row = connection.execute(
            select(plans.c.plan, plans.c.seq, plans.c.event_count)
            .where(plans.c.plan_id == plan_id)
            .with_for_update()
        ).first()
        if row is None and not missing_ok:
            raise PlanNotFound(plan_id)
        return row

    def _require_plan(self, connection: Connection, plan_id: str) -> None:
        found = connection.execute(select(plans.c.seq).where(plans.c.plan_id == plan_id))
        if found.first() is None:
            raise PlanNotFound(plan_id)

    def _devices(self, connection: Connection, plan_id: str) -> dict[str, dict]:
        rows = connection.execute(
            select(devices).where(devices.c.plan_id == plan_id).order_by(devices.c.number)
        ).all()
        return {
            row.device_id: {
                "device": row.device_id,
                "name": row.name,
                "credential_hash": row.credential_hash,
                "added_ms": row.added_ms,
                "last_seen_ms": row.last_seen_ms,
                "revoked": row.revoked,
            }
            for row in rows
        }
