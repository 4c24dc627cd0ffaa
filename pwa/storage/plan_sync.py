"""What a sync reads and writes in a plan's file: a batch applied and a page read from a
cursor in one locked step, and the snapshot a request checks its credential on.

Of the ticks, only each box's winner is stored (merge.compact); the events sit in
the file a table per month (plan_events.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from tinydb import where

from ..care import merge
from . import plan_events
from . import rules
from .contract import Page
from .plan_events import public_event as _public_event
from .plan_file import DEVICES
from .plan_file import PLAN
from .plan_file import _require_device
from .plan_file import _require_meta
from .rules import credential_matches as _credential_matches
from .rules import well_formed as _well_formed
from .store import Store


def apply_events(
    store: Store, plan_id: str, device_id: str, events: Sequence[dict], now_ms: int
) -> int:
    """Store the device's events once each (replays are ignored); return the plan's cursor.

    Raises merge.EventError for a malformed batch or an event from another
    device, and UnknownDevice if the device is unknown or was revoked.
    """
    return apply_and_read(store, plan_id, device_id, events, now_ms, cursor=None).cursor


def apply_and_read(
    store: Store,
    plan_id: str,
    device_id: str,
    events: Sequence[dict],
    now_ms: int,
    cursor: int | None,
    seen: PlanFileSnapshot | None = None,
    limit: int | None = None,
) -> Page:
    """Like apply_events, and also a page of the events after `cursor` (none if None), in
    one locked read.

    Of the ticks, only each box's winner is stored (merge.compact): a tick that one
    already stored outranks is acknowledged and dropped, and one that outranks a
    stored tick replaces it; every session edit is stored.  TooMany, changing nothing,
    if the plan would then hold more than MAX_EVENTS.  A batch that would change
    nothing, from a device seen in the last minute, writes nothing: a phone's retries
    cost a read, not a disk write.  Given the `seen` snapshot of this request, a batch
    that would store nothing does not even take the lock: a snapshot's answer stands
    until an event is stored.
    """
    batch = rules.accepted_events(device_id, events, now_ms)
    if seen is not None and cursor is not None and not seen.needs_write(device_id, batch, now_ms):
        return seen.page(cursor, limit)
    with store.locked(plan_id) as tdb:
        device = _require_device(tdb, device_id)
        meta = _require_meta(tdb, plan_id)
        tables = tdb.storage.read()
        if seen is not None:
            # The tables as this request's snapshot parsed them, where the file still holds
            # exactly those bytes: each is then parsed once per request.
            for name in {plan_events.table_for(event) for event in batch} | {plan_events.UNSPLIT}:
                tables.reuse(seen.tables, name)
        # The plan's event tables as the file holds them, worked on directly: a TinyDB
        # Document per event, and TinyDB rebuilding a table once per change, would cost
        # a write several times what the merge costs.
        change = plan_events.apply(tables, meta, batch)
        if change.stored:
            rules.check_room_for_events(change.held)
            change.write_into(tables)
            tdb.storage.write(tables)
            meta = {**meta, "seq": change.seq, "event_tables": change.index}
            tdb.table(PLAN).update({"seq": change.seq, "event_tables": change.index})
        if change.stored or now_ms - device["last_seen_ms"] >= rules.LAST_SEEN_EVERY_MS:
            tdb.table(DEVICES).update({"last_seen_ms": now_ms}, where("device") == device_id)
    newer = [] if cursor is None else plan_events.PlanEvents(tables, meta).after(cursor, limit)
    return _page(newer, meta["seq"], limit)


def _page(newer: list[dict], seq: int, limit: int | None) -> Page:
    # `newer` is sorted by seq.  A cut page ends at its last event's seq, so the next
    # page starts right after it: seqs only grow, and compaction only removes.
    if limit is not None and len(newer) > limit:
        shown = newer[:limit]
        return Page([_public_event(e) for e in shown], shown[-1]["seq"], True)
    return Page([_public_event(e) for e in newer], seq, False)


class PlanFileSnapshot:
    """One consistent read of a plan file, for a request that needs several parts of it.

    The events are parsed only when first asked for, so a request whose credential
    fails never parses them (table_file.Tables): a stranger's request costs the same small
    read whether the plan is new or a year old.
    """

    def __init__(self, plan_id: str, tables: Mapping[str, dict]) -> None:
        self.plan_id = plan_id
        self.tables = tables
        meta = next(iter(tables[PLAN].values()))
        self.plan: dict = meta["plan"]
        self.seq: int = meta["seq"]
        self.devices = {device["device"]: device for device in tables.get(DEVICES, {}).values()}
        self._events = plan_events.PlanEvents(tables, meta)

    def device_is_valid(self, device_id: str, credential_hash: str) -> bool:
        return _credential_matches(self.devices.get(device_id), credential_hash)

    def needs_write(self, device_id: str, batch: list[dict], now_ms: int) -> bool:
        """Whether applying `batch` from the device could change the plan file."""
        device = self.devices.get(device_id)
        if device is None or now_ms - device["last_seen_ms"] >= rules.LAST_SEEN_EVERY_MS:
            return True
        # A retried batch holding a tick that lost its box in the first try (a tap and an
        # untap sent together) must not take the lock each time: that serialised every
        # retry on the plan (bench/server_load.py replays just such a batch).
        return self._events.would_store(batch)

    def session_events(self) -> list[dict]:
        return [_public_event(e) for e in self._events.sessions()]

    def page(self, cursor: int, limit: int | None = None) -> Page:
        return _page(self._events.after(cursor, limit), self.seq, limit)


def snapshot(store: Store, plan_id: str) -> PlanFileSnapshot | None:
    """The plan, its devices and (when asked for) its events, from one read of its file;
    None for an unknown or malformed id."""
    if not _well_formed(plan_id):
        return None
    with store.reading(plan_id) as tdb:
        # The tables as the file lays them out ({table: {document id: document}}):
        # building a TinyDB Document for each event would cost a sync more than
        # reading the file does.
        tables = tdb.storage.read()
    if tables is None:
        return None
    if not tables.get(PLAN):
        return None
    return PlanFileSnapshot(plan_id, tables)


def changes_since(store: Store, plan_id: str, cursor: int) -> tuple[list[dict], int]:
    """The events stored after `cursor`, oldest first, and the cursor to ask from next time."""
    if type(cursor) is not int or cursor < 0:
        raise ValueError("cursor must be a whole number from 0")
    meta, events = _events(store, plan_id)
    return [_public_event(event) for event in events.after(cursor)], meta["seq"]


def tick_state(store: Store, plan_id: str) -> dict[tuple[str, str], dict]:
    """The winning event for each (day, item) the plan has ticks for."""
    _, events = _events(store, plan_id)
    return merge.merge({}, [_public_event(event) for event in events.after(0)])


def session_events(store: Store, plan_id: str) -> list[dict]:
    """Every stored session event of the plan (series.build merges them), oldest first."""
    _, events = _events(store, plan_id)
    return [_public_event(event) for event in events.sessions()]


def _events(store: Store, plan_id: str) -> tuple[dict, plan_events.PlanEvents]:
    """The plan's meta and its events, from one read of its file."""
    with store.reading(plan_id) as tdb:
        meta = _require_meta(tdb, plan_id)
        tables = tdb.storage.read()
    return meta, plan_events.PlanEvents(tables, meta)
