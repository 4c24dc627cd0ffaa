"""The plan store (contract.PlanStore) in PostgreSQL: plans, devices, device links, events.

Each method is one transaction.  A write to a plan first locks the plan's row
(`SELECT … FOR UPDATE`), which orders the plan's writers as the file lock does: seqs
commit in order, so a reader from a cursor never misses an event.  A tick is merged by
one conditional upsert on its box; the same rule (merge.compact) decides, before the
statement, which of a batch's events to send, so both backends keep the same events.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from ...care import merge
from .. import rules
from ..contract import Page
from ..contract import PlanExists
from ..contract import PlanNotFound
from ..contract import UnknownDevice
from ..rules import check_new_device
from ..rules import check_plan_id
from ..rules import credential_matches
from ..rules import well_formed
from . import sync_reads
from .common import check_json
from .common import page_of
from .common import public_event
from .device_tables import DeviceTables
from .device_tables import new_device
from .reminder_tables import ReminderTables
from .schema import calendar_links
from .schema import devices
from .schema import events as event_rows
from .schema import join_tokens
from .schema import plans
from .schema import push_subscriptions
from .schema import reminders_sent

PRESENT = "present"
_EVENT_COLUMNS = ("device", "counter", "ts", "day", "item", "done", "session", "time", "status")


def _row(plan_id: str, event: dict, seq: int) -> dict:
    return {
        "plan_id": plan_id,
        "event_id": event["id"],
        "seq": seq,
        **{name: event.get(name) for name in _EVENT_COLUMNS},
    }


class PostgresSnapshot:
    """The plan, its devices and its session edits as one request read them, in one
    transaction (contract.PlanSnapshot); a page of events is read when asked for."""

    def __init__(
        self, store: PostgresPlanStore, plan_id: str, plan: dict, found: dict, sessions: list
    ) -> None:
        self._store = store
        self.plan_id = plan_id
        self.plan = plan
        self.devices = found
        self._sessions = sessions

    def device_is_valid(self, device_id: str, credential_hash: str) -> bool:
        return credential_matches(self.devices.get(device_id), credential_hash)

    def session_events(self) -> list[dict]:
        return list(self._sessions)

    def page(self, cursor: int, limit: int | None = None) -> Page:
        with self._store.db.reading() as connection:
            return _page(connection, self.plan_id, cursor, limit)


def _page(connection: Connection, plan_id: str, cursor: int, limit: int | None) -> Page:
    seq = connection.execute(select(plans.c.seq).where(plans.c.plan_id == plan_id)).scalar()
    if seq is None:
        raise PlanNotFound(plan_id)
    query = select(event_rows).where(event_rows.c.plan_id == plan_id, event_rows.c.seq > cursor)
    query = query.order_by(event_rows.c.seq)
    if limit is not None:
        query = query.limit(limit + 1)
    return page_of(connection.execute(query).all(), seq, limit)


class PostgresPlanStore(DeviceTables, ReminderTables):
    """Plans in PostgreSQL: a contract.PlanStore."""

    # The plan and its devices.

    def create_plan(self, plan_id, plan, device_id, credential_hash, now_ms, name=""):
        check_plan_id(plan_id)
        if not isinstance(plan, dict):
            raise ValueError("plan must be a dict")
        check_json(plan)
        check_new_device(device_id, credential_hash)
        with self.db.writing() as connection:
            made = connection.execute(
                insert(plans)
                .values(plan_id=plan_id, plan=plan, seq=0, created_ms=now_ms)
                .on_conflict_do_nothing()
                .returning(plans.c.plan_id)
            ).first()
            if made is None:
                raise PlanExists(plan_id)
            connection.execute(
                devices.insert().values(
                    new_device(plan_id, device_id, credential_hash, now_ms, name, number=1)
                )
            )

    def get_plan(self, plan_id):
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            return connection.execute(
                select(plans.c.plan).where(plans.c.plan_id == plan_id)
            ).scalar()

    def plan_exists(self, plan_id):
        return self.get_plan(plan_id) is not None

    def plan_ids(self):
        with self.db.reading() as connection:
            return list(
                connection.execute(select(plans.c.plan_id).order_by(plans.c.plan_id)).scalars()
            )

    def update_plan(self, plan_id, changes):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            plan = self._lock(connection, plan_id).plan
            plan = check_json({**plan, **changes})
            connection.execute(update(plans).where(plans.c.plan_id == plan_id).values(plan=plan))
        return plan

    def delete_plan(self, plan_id):
        check_plan_id(plan_id)
        with self.db.writing() as connection:
            gone = connection.execute(delete(plans).where(plans.c.plan_id == plan_id))
        return gone.rowcount > 0

    def export_plan(self, plan_id):
        """Everything stored for the plan, in the shape the file backend exports it."""
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            plan = connection.execute(select(plans).where(plans.c.plan_id == plan_id)).first()
            if plan is None:
                raise PlanNotFound(plan_id)

            def rows(table, *order):
                query = select(table).where(table.c.plan_id == plan_id).order_by(*order)
                return connection.execute(query).all()

            found = self._devices(connection, plan_id)
            links = rows(join_tokens, join_tokens.c.expires_ms)
            feed = rows(calendar_links)
            pushes = rows(push_subscriptions, push_subscriptions.c.added_ms)
            sent = rows(reminders_sent, reminders_sent.c.sent_ms)
            stored = rows(event_rows, event_rows.c.seq)
        return {
            "plan_id": plan_id,
            "created_ms": plan.created_ms,
            "plan": plan.plan,
            "devices": [
                {**_without(device, "credential_hash"), "credential": PRESENT}
                for device in found.values()
            ],
            "events": [public_event(row) for row in stored],
            "device_links": [
                {"expires_ms": t.expires_ms, "used_ms": t.used_ms, "key": PRESENT} for t in links
            ],
            "calendar_link": {
                "explicit_titles": feed[0].explicit_titles,
                "made_ms": feed[0].made_ms,
                "made_by": feed[0].made_by,
                "key": PRESENT,
            }
            if feed
            else None,
            "push": [
                {
                    "device": p.device_id,
                    "prefs": p.prefs,
                    "added_ms": p.added_ms,
                    "failures": p.failures,
                    "retry_ms": p.retry_ms,
                    "subscription": PRESENT,
                }
                for p in pushes
            ],
            "reminders_sent": [
                {"key": s.key, "device": s.device_id, "sent_ms": s.sent_ms} for s in sent
            ],
        }

    def last_activity_ms(self, plan_id):
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            created = connection.execute(
                select(plans.c.created_ms).where(plans.c.plan_id == plan_id)
            ).scalar()
            if created is None:
                raise PlanNotFound(plan_id)
            seen = connection.execute(
                select(func.max(devices.c.last_seen_ms)).where(devices.c.plan_id == plan_id)
            ).scalar()
        return max(created, seen or 0)

    def inactive_plans(self, cutoff_ms):
        last = (
            select(devices.c.plan_id, func.max(devices.c.last_seen_ms).label("seen"))
            .group_by(devices.c.plan_id)
            .subquery()
        )
        query = (
            select(plans.c.plan_id)
            .outerjoin(last, last.c.plan_id == plans.c.plan_id)
            .where(func.greatest(plans.c.created_ms, func.coalesce(last.c.seen, 0)) < cutoff_ms)
            .order_by(plans.c.plan_id)
        )
        with self.db.reading() as connection:
            return list(connection.execute(query).scalars())

    # Events.

    def snapshot(self, plan_id):
        if not well_formed(plan_id):
            return None
        read = sync_reads.snapshot(self.db, plan_id)
        if read is None:
            return None
        plan, found, sessions = read
        return PostgresSnapshot(self, plan_id, plan, found, sessions)

    def apply_events(self, plan_id, device_id, events, now_ms):
        return self.apply_and_read(plan_id, device_id, events, now_ms, cursor=None).cursor

    def apply_and_read(
        self, plan_id, device_id, events, now_ms, cursor, seen=None, limit=None
    ) -> Page:
        batch = rules.accepted_events(device_id, events, now_ms)
        check_plan_id(plan_id)
        if seen is not None and cursor is not None:
            # A retry (or a batch whose ticks all lost their boxes) from a device seen in the
            # last minute stores nothing: answered from one read, without the plan's row
            # lock, which would otherwise line up every phone's retries on the plan.
            device = seen.devices.get(device_id)
            if device is not None and now_ms - device["last_seen_ms"] < rules.LAST_SEEN_EVERY_MS:
                page = sync_reads.settled(self.db, plan_id, batch, cursor, limit)
                if page is not None:
                    return page
        with self.db.writing() as connection:
            plan = self._lock(connection, plan_id)
            device = self._devices(connection, plan_id).get(device_id)
            if device is None or device["revoked"]:
                raise UnknownDevice(device_id)
            kept, boxes_held = self._kept(connection, plan_id, batch)
            seq = plan.seq
            if kept:
                # A tick for a box the plan holds replaces its row; anything else adds one.
                held = plan.event_count + sum(
                    1
                    for e in kept
                    if merge.is_session_event(e) or (e["day"], e["item"]) not in boxes_held
                )
                rules.check_room_for_events(held)
                seq = self._store(connection, plan_id, kept, plan.seq)
                connection.execute(
                    update(plans)
                    .where(plans.c.plan_id == plan_id)
                    .values(seq=seq, event_count=held)
                )
            if kept or now_ms - device["last_seen_ms"] >= rules.LAST_SEEN_EVERY_MS:
                connection.execute(
                    update(devices)
                    .where(devices.c.plan_id == plan_id, devices.c.device_id == device_id)
                    .values(last_seen_ms=now_ms)
                )
            if cursor is None:
                return Page([], seq, False)
            # Read inside the writing transaction, under the plan's row lock: no other
            # writer of this plan can commit between the write and this read.
            return _page(connection, plan_id, cursor, limit)

    def changes_since(self, plan_id, cursor):
        if type(cursor) is not int or cursor < 0:
            raise ValueError("cursor must be a whole number from 0")
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            page = _page(connection, plan_id, cursor, None)
        return page.events, page.cursor

    def session_events(self, plan_id):
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            self._require_plan(connection, plan_id)
            return self._sessions(connection, plan_id)

    def _sessions(self, connection: Connection, plan_id: str) -> list[dict]:
        rows = connection.execute(
            select(event_rows)
            .where(event_rows.c.plan_id == plan_id, event_rows.c.session.is_not(None))
            .order_by(event_rows.c.seq)
        ).all()
        return [public_event(row) for row in rows]

    def tick_state(self, plan_id):
        check_plan_id(plan_id)
        with self.db.reading() as connection:
            self._require_plan(connection, plan_id)
            rows = connection.execute(
                select(event_rows).where(
                    event_rows.c.plan_id == plan_id, event_rows.c.session.is_(None)
                )
            ).all()
        # One row per box: the table keeps only each box's winner.
        return {(row.day, row.item): public_event(row) for row in rows}

    def housekeeping(self):
        return 0  # nothing is left behind by an interrupted transaction

    # Helpers.

    def _kept(
        self, connection: Connection, plan_id: str, batch: list[dict]
    ) -> tuple[list[dict], set[tuple[str, str]]]:
        """The batch's events to store, those the plan does not hold that win their box
        against the stored tick (merge.compact) and every new session edit; and which of
        their boxes the plan holds a tick for."""
        if not batch:
            return [], set()
        ids = [event["id"] for event in batch]
        known = set(
            connection.execute(
                select(event_rows.c.event_id).where(
                    event_rows.c.plan_id == plan_id, event_rows.c.event_id.in_(ids)
                )
            ).scalars()
        )
        fresh = [event for event in batch if event["id"] not in known]
        boxes = {(e["day"], e["item"]) for e in fresh if not merge.is_session_event(e)}
        stored = self._ticks_in(connection, plan_id, boxes)
        kept, _ = merge.compact(stored, fresh)
        return kept, {(tick["day"], tick["item"]) for tick in stored}

    def _ticks_in(self, connection: Connection, plan_id: str, boxes: set) -> list[dict]:
        if not boxes:
            return []
        rows = connection.execute(
            select(event_rows).where(
                event_rows.c.plan_id == plan_id,
                event_rows.c.session.is_(None),
                tuple_(event_rows.c.day, event_rows.c.item).in_(sorted(boxes)),
            )
        ).all()
        return [public_event(row) for row in rows]

    def _store(self, connection: Connection, plan_id: str, kept: list[dict], seq: int) -> int:
        """Store `kept` numbered from seq + 1; the plan's new seq."""
        rows = [_row(plan_id, event, seq + n) for n, event in enumerate(kept, start=1)]
        ticks = [row for row in rows if row["session"] is None]
        sessions = [row for row in rows if row["session"] is not None]
        if sessions:
            connection.execute(insert(event_rows).values(sessions))
        if ticks:
            upsert = insert(event_rows).values(ticks)
            incoming = upsert.excluded
            # The merge's order (merge._rank): the newer winner replaces the box's row.
            columns = event_rows.c
            ranks = (columns.ts, columns.device, columns.counter, columns.event_id, columns.done)
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=["plan_id", "day", "item"],
                    index_where=event_rows.c.session.is_(None),
                    set_={name: incoming[name] for name in ("event_id", "seq", *_EVENT_COLUMNS)},
                    where=tuple_(*(incoming[c.name] for c in ranks)) > tuple_(*ranks),
                )
            )
        return seq + len(rows)


def _without(row: dict, name: str) -> dict:
    return {key: value for key, value in row.items() if key != name}
