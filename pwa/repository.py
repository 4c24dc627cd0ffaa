"""Plans, linked devices, join tokens and events: everything views may store or read.

Views call only the functions in `__all__`.  This is the only module that
queries TinyDB (`db.py` is the only one that constructs it).  Each plan is
one file holding these tables: `plan` (one document: the plan as given, the
sequence counter and the creation time), `devices`, `join_tokens`,
`events`, `calendar` (the feed token's hash and options), `push` (a Web
Push subscription and reminder preferences per device) and `sent` (which
reminders were sent, so each goes out once).  Every change runs inside one
`store.locked()` block, so it lands as one atomic file replace: a plan is
never half-updated.  Things are found by natural keys (device id, token
hash, event id), never by TinyDB's doc ids, which other processes hand out
too.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import tempfile
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb import where

from . import merge
from . import plan_events
from .db import PlanNotFound
from .db import Store
from .db import StoreBusy
from .db import check_plan_id
from .sealed import SealError
from .sealed import SecretBox

__all__ = [
    "AccountExists",
    "DeviceExists",
    "add_client",
    "add_invitation",
    "add_practitioner",
    "clients_of",
    "client_owner",
    "console_session",
    "end_console_session",
    "find_practitioner",
    "get_practitioner",
    "last_activity_ms",
    "invitation_plan",
    "redeem_invitation",
    "remove_client",
    "set_password_hash",
    "set_totp",
    "seal_plain_secrets",
    "use_totp_step",
    "start_console_session",
    "touch_console_session",
    "calendar_link",
    "claim_reminder",
    "plans_with_push",
    "push_subscriptions",
    "push_outcome",
    "release_reminder",
    "remove_calendar_link",
    "remove_push",
    "set_calendar_link",
    "set_calendar_options",
    "set_push",
    "PlanExists",
    "PlanNotFound",
    "StoreBusy",
    "UnknownDevice",
    "TooMany",
    "add_device",
    "check_room_for_device",
    "add_join_token",
    "Page",
    "PlanSnapshot",
    "apply_and_read",
    "apply_events",
    "changes_since",
    "create_plan",
    "delete_plan",
    "device_is_valid",
    "export_plan",
    "get_plan",
    "list_devices",
    "redeem_join_token",
    "revoke_device",
    "session_events",
    "snapshot",
    "tick_state",
    "update_plan",
]

# "Last sync" shown to the clinic is kept to the minute; more would be a disk write per poll.
LAST_SEEN_EVERY_MS = 60 * 1000
# A person has a phone or two and perhaps a tablet; these keep a plan's file small
# whatever a caller does with a valid credential.
MAX_DEVICES = 10
# Removed devices stay on file (an id once used is never let in again); this bounds them.
MAX_DEVICES_EVER = 40
MAX_WAITING_LINKS = 5
# Only each box's winning tick is kept, with every session edit (merge.compact), so a
# plan holds about one event per box ever ticked: a 12-session series ticked in full every
# day on three devices for a year keeps 2,803 of the 12,575 events sent, 469 KB
# (tests/test_plan_bounds.py).  The cap leaves room for twice that and bounds what a
# caller with a valid credential can make the file hold (about 1 MB).
MAX_EVENTS = 6000
# Events in one sync answer; a phone that is further behind asks again from the cursor.
PAGE_SIZE = 500

PLAN = "plan"
DEVICES = "devices"
TOKENS = "join_tokens"
CALENDAR = "calendar"
PUSH = "push"
SENT = "sent"
# The export's name for each table of a plan's file (PLAN becomes its top-level fields);
# the event tables (plan_events) are exported together as "events".
EXPORTED_AS = {
    PLAN: "plan",
    DEVICES: "devices",
    TOKENS: "device_links",
    CALENDAR: "calendar_link",
    PUSH: "push",
    SENT: "reminders_sent",
}
PRESENT = "present"
# A push subscription whose service keeps failing waits this long after its first
# failure, twice as long after each next one, and never longer than the last.
PUSH_FIRST_WAIT_MS = 60 * 1000
PUSH_LONGEST_WAIT_MS = 6 * 60 * 60 * 1000
# Marker files naming the plans that have push subscriptions, so the reminder
# sender visits those plans only, not every plan on disk.
PUSH_INDEX = "push-index"


class AccountExists(Exception):
    """A practitioner with this e-mail address already exists."""


class PlanExists(Exception):
    """A plan with this id is already stored."""


class DeviceExists(Exception):
    """The plan already has (or had, before revoking it) a device with this id."""


class UnknownDevice(LookupError):
    """The device is not linked to the plan, or was revoked."""


class TooMany(Exception):
    """A per-plan limit (devices, device links waiting) is reached; the message says which."""


# Plans


def create_plan(
    store: Store,
    plan_id: str,
    plan: dict,
    device_id: str,
    credential_hash: str,
    now_ms: int,
    name: str = "",
) -> None:
    """Store a new plan and its first device; raise PlanExists if the id is taken.

    `name` is how the device is shown to its owner ("Chrome Mobile on Android").
    """
    if not isinstance(plan, dict):
        raise ValueError("plan must be a dict")
    _check_new_device(device_id, credential_hash)
    with store.locked(plan_id, create=True) as tdb:
        if _meta(tdb) is not None:
            raise PlanExists(plan_id)
        tdb.table(PLAN).insert({"plan": plan, "seq": 0, "created_ms": now_ms})
        tdb.table(DEVICES).insert(_new_device(device_id, credential_hash, now_ms, name))


def get_plan(store: Store, plan_id: str) -> dict | None:
    """The plan as stored by create_plan/update_plan, or None if there is none."""
    with store.reading(plan_id) as tdb:
        meta = _meta(tdb)
    return None if meta is None else meta["plan"]


def update_plan(store: Store, plan_id: str, changes: dict) -> dict:
    """Set the top-level keys in `changes` on the plan; return the updated plan."""
    with store.locked(plan_id) as tdb:
        plan = {**_meta(tdb)["plan"], **changes}
        tdb.table(PLAN).update({"plan": plan})
    return plan


def last_activity_ms(store: Store, plan_id: str) -> int:
    """When anything last happened to the plan: made, or a device last synced."""
    with store.reading(plan_id) as tdb:
        meta = _require_meta(tdb, plan_id)
        seen = [device["last_seen_ms"] for device in tdb.table(DEVICES).all()]
    return max([meta["created_ms"], *seen])


def delete_plan(store: Store, plan_id: str) -> bool:
    """Erase the plan with its devices, tokens, events and subscriptions; False if none."""
    deleted = store.delete(plan_id)
    if _well_formed(plan_id):
        _push_marker(store, plan_id).unlink(missing_ok=True)
    return deleted


# Devices


def add_device(
    store: Store, plan_id: str, device_id: str, credential_hash: str, now_ms: int, name: str = ""
) -> None:
    """Link another device; raise DeviceExists if the id was ever used on this plan, and
    TooMany if the plan has MAX_DEVICES linked already."""
    _check_new_device(device_id, credential_hash)
    with store.locked(plan_id) as tdb:
        devices = tdb.table(DEVICES)
        # A revoked id is refused too: re-adding it would bring it back to life.
        if devices.contains(where("device") == device_id):
            raise DeviceExists(device_id)
        _check_room(devices)
        if len(devices) >= MAX_DEVICES_EVER:
            raise TooMany(
                f"{MAX_DEVICES_EVER} devices have been linked to this plan over time, the most "
                "one plan can record. Start a new plan to link another."
            )
        devices.insert(_new_device(device_id, credential_hash, now_ms, name))


def check_room_for_device(store: Store, plan_id: str) -> None:
    """Raise TooMany if the plan has all the devices it may have (PlanNotFound if none)."""
    if not _well_formed(plan_id):
        raise PlanNotFound(plan_id)
    with store.reading(plan_id) as tdb:
        _require_meta(tdb, plan_id)
        _check_room(tdb.table(DEVICES))


def _check_room(devices) -> None:
    if devices.count(where("revoked") == False) >= MAX_DEVICES:  # noqa: E712 (a query)
        raise TooMany(
            f"This plan has {MAX_DEVICES} devices, the most it can have. "
            "Remove one in Settings on another device first."
        )


def revoke_device(store: Store, plan_id: str, device_id: str) -> bool:
    """Stop accepting the device's credential, and whatever it could still open: every
    device link waiting to be used (one it made would let a new device in), the
    calendar feed it made and its push subscription.  False if the plan has no such device."""
    with store.locked(plan_id) as tdb:
        devices = tdb.table(DEVICES)
        if not devices.contains(where("device") == device_id):
            return False
        devices.update({"revoked": True}, where("device") == device_id)
        tdb.table(TOKENS).truncate()
        # A feed stored before its maker was recorded may be this device's: it goes too.
        feeds = tdb.table(CALENDAR)
        if any(link.get("made_by", device_id) == device_id for link in feeds.all()):
            feeds.truncate()
        pushes = tdb.table(PUSH)
        if pushes.remove(where("device") == device_id) and not len(pushes):
            _push_marker(store, plan_id).unlink(missing_ok=True)
    return True


def device_is_valid(store: Store, plan_id: str, device_id: str, credential_hash: str) -> bool:
    """Whether the device may act on the plan.

    False alike for a malformed or unknown plan id, an unknown or revoked
    device and a wrong hash, so callers give all of them the same answer.
    """
    return _credential_matches(_find_device(store, plan_id, device_id), credential_hash)


def list_devices(store: Store, plan_id: str) -> list[dict]:
    """The plan's devices, oldest first, without their credential hashes.

    A device stored before names were kept has none: its name is "".
    """
    with store.reading(plan_id) as tdb:
        _require_meta(tdb, plan_id)
        return [{"name": "", **_public_device(d)} for d in tdb.table(DEVICES).all()]


# Join tokens


def add_join_token(
    store: Store, plan_id: str, token_hash: str, expires_ms: int, now_ms: int = 0
) -> None:
    """Remember a token (by its hash) that may link one more device until `expires_ms`.

    Used and expired tokens are dropped here, so they never pile up; TooMany if
    MAX_WAITING_LINKS are still waiting at `now_ms`.
    """
    if not isinstance(token_hash, str) or not token_hash:
        raise ValueError("token hash must be a non-empty string")
    token = {"token_hash": token_hash, "expires_ms": expires_ms, "used_ms": None}
    with store.locked(plan_id) as tdb:
        tokens = tdb.table(TOKENS)
        dead = (where("used_ms") != None) | (where("expires_ms") <= now_ms)  # noqa: E711
        # Counted before anything is removed: a refusal changes nothing.
        if len(tokens) - tokens.count(dead) >= MAX_WAITING_LINKS:
            raise TooMany(
                f"At most {MAX_WAITING_LINKS} device links can wait to be used at once. "
                "Use one, or wait a day for them to expire."
            )
        tokens.remove(dead)
        tokens.upsert(token, where("token_hash") == token_hash)


def redeem_join_token(store: Store, plan_id: str, token_hash: str, now_ms: int) -> bool:
    """Use up the token; False if the plan or token is unknown, used or expired."""
    # A plain lookup is fine here: the caller hashed a random token, so
    # timing reveals nothing about any token that could be redeemed.
    if not _well_formed(plan_id):
        return False
    return _use_once(store, plan_id, TOKENS, "token_hash", token_hash, now_ms) is not None


# Tick events


def apply_events(
    store: Store, plan_id: str, device_id: str, events: list[dict], now_ms: int
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
    events: list[dict],
    now_ms: int,
    cursor: int | None,
    seen: PlanSnapshot | None = None,
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
    of events the plan already holds does not even take the lock: a snapshot's answer
    stands until an event is stored.
    """
    batch = _accepted_events(device_id, events, now_ms)
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
            _check_room_for_events(change.held)
            change.write_into(tables)
            tdb.storage.write(tables)
            meta = {**meta, "seq": change.seq, "event_tables": change.index}
            tdb.table(PLAN).update({"seq": change.seq, "event_tables": change.index})
        if change.stored or now_ms - device["last_seen_ms"] >= LAST_SEEN_EVERY_MS:
            tdb.table(DEVICES).update({"last_seen_ms": now_ms}, where("device") == device_id)
    newer = [] if cursor is None else plan_events.PlanEvents(tables, meta).after(cursor, limit)
    return _page(newer, meta["seq"], limit)


def _check_room_for_events(count: int) -> None:
    if count > MAX_EVENTS:
        raise TooMany(
            f"This plan holds {MAX_EVENTS:,} saved ticks and session changes, the most one "
            "plan can keep, so new ones are not saved on the server. Your clinic (or a new "
            "plan) can start afresh."
        )


@dataclass(frozen=True)
class Page:
    """Events for a device, oldest first; `cursor` is where to ask from next time, and
    `more` says whether events after it are already waiting."""

    events: list[dict]
    cursor: int
    more: bool


def _page(newer: list[dict], seq: int, limit: int | None) -> Page:
    # `newer` is sorted by seq.  A cut page ends at its last event's seq, so the next
    # page starts right after it: seqs only grow, and compaction only removes.
    if limit is not None and len(newer) > limit:
        shown = newer[:limit]
        return Page([_public_event(e) for e in shown], shown[-1]["seq"], True)
    return Page([_public_event(e) for e in newer], seq, False)


class PlanSnapshot:
    """One consistent read of a plan file, for a request that needs several parts of it.

    The events are parsed only when first asked for, so a request whose credential
    fails never parses them (db.Tables): a stranger's request costs the same small
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
        if device is None or now_ms - device["last_seen_ms"] >= LAST_SEEN_EVERY_MS:
            return True
        # Whether the fresh events win their boxes is left to the write: it re-reads the
        # plan under the lock anyway, and a batch that only loses is rare.
        return not all(self._events.knows(event) for event in batch)

    def session_events(self) -> list[dict]:
        return [_public_event(e) for e in self._events.sessions()]

    def page(self, cursor: int, limit: int | None = None) -> Page:
        return _page(self._events.after(cursor, limit), self.seq, limit)


def snapshot(store: Store, plan_id: str) -> PlanSnapshot | None:
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
    return PlanSnapshot(plan_id, tables)


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


# Calendar feed


def set_calendar_link(
    store: Store,
    plan_id: str,
    token_hash: str,
    explicit_titles: bool,
    now_ms: int,
    made_by: str = "",
) -> None:
    """Make `token_hash` the plan's only calendar token: any older link stops working.
    `made_by`, the device that asked, takes the link with it when it is removed."""
    _check_hash(token_hash)
    link = {
        "token_hash": token_hash,
        "explicit_titles": bool(explicit_titles),
        "made_ms": now_ms,
        "made_by": made_by,
    }
    with store.locked(plan_id) as tdb:
        tdb.table(CALENDAR).truncate()
        tdb.table(CALENDAR).insert(link)


def set_calendar_options(store: Store, plan_id: str, explicit_titles: bool) -> bool:
    """Change the feed's title option, keeping its link; False if the plan has no link."""
    with store.locked(plan_id) as tdb:
        if not tdb.table(CALENDAR).all():
            return False
        tdb.table(CALENDAR).update({"explicit_titles": bool(explicit_titles)})
    return True


def remove_calendar_link(store: Store, plan_id: str) -> None:
    with store.locked(plan_id) as tdb:
        tdb.table(CALENDAR).truncate()


def calendar_link(store: Store, plan_id: str, token_hash: str | None = None) -> dict | None:
    """The plan's link {explicit_titles, made_ms} if it exists (and matches `token_hash`)."""
    if not _well_formed(plan_id):
        return None
    with store.reading(plan_id) as tdb:
        links = tdb.table(CALENDAR).all()
    if not links:
        return None
    link = dict(links[0])
    if token_hash is not None and not hmac.compare_digest(
        link["token_hash"].encode(), str(token_hash).encode()
    ):
        return None
    return {"explicit_titles": link["explicit_titles"], "made_ms": link["made_ms"]}


# Web Push subscriptions and the sent-log


def set_push(
    store: Store, plan_id: str, device_id: str, subscription: dict, prefs: dict, now_ms: int
) -> None:
    """Store (or replace) the device's push subscription and reminder preferences."""
    entry = {"device": device_id, "subscription": subscription, "prefs": prefs, "added_ms": now_ms}
    # A new subscription starts with no failures behind it.
    entry |= {"failures": 0, "retry_ms": 0}
    with store.locked(plan_id) as tdb:
        _require_device(tdb, device_id)
        tdb.table(PUSH).upsert(entry, where("device") == device_id)
        # Inside the lock, so a concurrent last unsubscribe cannot remove it after us.
        _push_marker(store, plan_id).touch()


def remove_push(store: Store, plan_id: str, device_id: str, endpoint: str | None = None) -> bool:
    """Forget the device's subscription (only if it still has `endpoint`, when given)."""
    with store.locked(plan_id) as tdb:
        table = tdb.table(PUSH)
        entry = table.get(where("device") == device_id)
        if entry is None:
            return False
        if endpoint is not None and entry["subscription"]["endpoint"] != endpoint:
            return False  # the device subscribed again meanwhile
        table.remove(where("device") == device_id)
        if not len(table):
            _push_marker(store, plan_id).unlink(missing_ok=True)
    return True


def push_subscriptions(store: Store, plan_id: str) -> list[dict]:
    """[{device, subscription, prefs, retry_ms}] for the plan's devices that are still
    linked; `retry_ms` (0 when none) is when a subscription that failed may be tried again."""
    with store.reading(plan_id) as tdb:
        _require_meta(tdb, plan_id)
        revoked = {d["device"] for d in tdb.table(DEVICES).all() if d["revoked"]}
        entries = [dict(entry) for entry in tdb.table(PUSH).all()]
    return [
        {
            **{key: entry[key] for key in ("device", "subscription", "prefs")},
            "retry_ms": entry.get("retry_ms", 0),
        }
        for entry in entries
        if entry["device"] not in revoked
    ]


def push_outcome(
    store: Store, plan_id: str, device_id: str, endpoint: str, failed: bool, now_ms: int
) -> None:
    """Record a send to the device's subscription (if it still has `endpoint`): a failure
    doubles the wait before it is tried again (1 min, 2, 4 … up to PUSH_LONGEST_WAIT_MS),
    a success ends the wait."""
    with store.locked(plan_id) as tdb:
        table = tdb.table(PUSH)
        entry = table.get(where("device") == device_id)
        if entry is None or entry["subscription"]["endpoint"] != endpoint:
            return
        if not failed and not entry.get("failures"):
            return  # the usual case: nothing to write
        failures = entry.get("failures", 0) + 1 if failed else 0
        wait = min(PUSH_LONGEST_WAIT_MS, PUSH_FIRST_WAIT_MS * 2 ** (failures - 1))
        retry = now_ms + wait if failed else 0
        table.update({"failures": failures, "retry_ms": retry}, where("device") == device_id)


def plans_with_push(store: Store) -> list[str]:
    """Ids of the plans that have (or recently had) a push subscription."""
    folder = _push_index(store)
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def claim_reminder(store: Store, plan_id: str, key: str, device_id: str, now_ms: int) -> bool:
    """Record that this reminder is being sent to the device; False if it already was.

    Two overlapping sender runs both ask; the plan's lock lets exactly one win.
    """
    with store.locked(plan_id) as tdb:
        sent = tdb.table(SENT)
        if sent.contains((where("key") == key) & (where("device") == device_id)):
            return False
        sent.insert({"key": key, "device": device_id, "sent_ms": now_ms})
    return True


def release_reminder(store: Store, plan_id: str, key: str, device_id: str) -> None:
    """Undo a claim whose sending failed, so a later run may try again."""
    with store.locked(plan_id) as tdb:
        tdb.table(SENT).remove((where("key") == key) & (where("device") == device_id))


def export_plan(store: Store, plan_id: str) -> dict[str, Any]:
    """Everything stored for the plan, for the client's "export my data".

    Every table of the plan's file is here (EXPORTED_AS names where); a secret shows as
    "present" instead of its value: a device's credential hash, a device link's or the
    calendar feed's key, a push subscription (its endpoint is a capability URL).
    """
    with store.reading(plan_id) as tdb:
        meta = _require_meta(tdb, plan_id)
        tables = {name: [dict(row) for row in tdb.table(name).all()] for name in EXPORTED_AS}
        events = plan_events.PlanEvents(tdb.storage.read(), meta).after(0)
    calendar = [
        {**_without(link, "token_hash"), "made_by": link.get("made_by", ""), "key": PRESENT}
        for link in tables[CALENDAR]
    ]
    return {
        "plan_id": plan_id,
        "created_ms": meta["created_ms"],
        "plan": meta["plan"],
        "devices": [
            {"name": "", **_public_device(device), "credential": PRESENT}
            for device in tables[DEVICES]
        ],
        "events": [_public_event(event) for event in events],
        "device_links": [
            {"expires_ms": t["expires_ms"], "used_ms": t["used_ms"], "key": PRESENT}
            for t in tables[TOKENS]
        ],
        "calendar_link": calendar[0] if calendar else None,
        "push": [
            # A subscription stored before failures were counted has had none.
            {
                "failures": 0,
                "retry_ms": 0,
                **_without(entry, "subscription"),
                "subscription": PRESENT,
            }
            for entry in tables[PUSH]
        ],
        "reminders_sent": tables[SENT],
    }


def _without(row: dict, name: str) -> dict:
    return {key: value for key, value in row.items() if key != name}


# The clinic: practitioners, their console sessions, their clients, invitations.
# They live in one file of the clinic store (not a plan store), with the same
# lock and atomic replace.  Lockout counters are here rather than in a
# worker's memory, so they hold across all gunicorn workers.

CLINIC = "clinic-accounts-v1"
PRACTITIONERS = "practitioners"
CONSOLE_SESSIONS = "console_sessions"
CLIENTS = "clients"
INVITATIONS = "invitations"


def add_practitioner(clinic: Store, email: str, password_hash: str, now_ms: int) -> str:
    """Create an account; its id.  Raises AccountExists for a known e-mail."""
    practitioner_id = secrets.token_urlsafe(12)
    with clinic.locked(CLINIC, create=True) as tdb:
        table = tdb.table(PRACTITIONERS)
        if table.contains(where("email") == email):
            raise AccountExists(email)
        table.insert(
            {
                "id": practitioner_id,
                "email": email,
                "password_hash": password_hash,
                "totp_secret": None,
                "disabled": False,
                "created_ms": now_ms,
            }
        )
    return practitioner_id


def find_practitioner(clinic: Store, email: str) -> dict | None:
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(PRACTITIONERS).get(where("email") == email)
    return _opened(clinic, found) if found else None


def get_practitioner(clinic: Store, practitioner_id: str) -> dict | None:
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(PRACTITIONERS).get(where("id") == practitioner_id)
    return _opened(clinic, found) if found else None


def set_password_hash(clinic: Store, practitioner_id: str, password_hash: str) -> None:
    with clinic.locked(CLINIC) as tdb:
        tdb.table(PRACTITIONERS).update(
            {"password_hash": password_hash}, where("id") == practitioner_id
        )


def list_practitioners(clinic: Store) -> list[dict]:
    """Every account, oldest first, each with `sessions`: how many console sessions it has."""
    if not clinic.exists(CLINIC):
        return []
    with clinic.reading(CLINIC) as tdb:
        accounts = [dict(account) for account in tdb.table(PRACTITIONERS).all()]
        owners = [s["practitioner"] for s in tdb.table(CONSOLE_SESSIONS).all()]
    return [{**a, "sessions": owners.count(a["id"])} for a in accounts]


def set_disabled(clinic: Store, practitioner_id: str, disabled: bool) -> None:
    """Disable (no login, sessions ended) or enable an account."""
    with clinic.locked(CLINIC) as tdb:
        tdb.table(PRACTITIONERS).update({"disabled": disabled}, where("id") == practitioner_id)
        if disabled:
            tdb.table(CONSOLE_SESSIONS).remove(where("practitioner") == practitioner_id)


def end_console_sessions(clinic: Store, practitioner_id: str, keep_sid_hash: str = "") -> int:
    """End every console session of the account but `keep_sid_hash`; how many ended."""
    mine = (where("practitioner") == practitioner_id) & (where("sid_hash") != keep_sid_hash)
    with clinic.locked(CLINIC) as tdb:
        return len(tdb.table(CONSOLE_SESSIONS).remove(mine))


def purge_console_sessions(clinic: Store, is_live: Callable[[dict], bool]) -> int:
    """Remove the sessions that are no longer live (timed out); how many went."""
    with clinic.locked(CLINIC) as tdb:
        table = tdb.table(CONSOLE_SESSIONS)
        dead = [session.doc_id for session in table.all() if not is_live(dict(session))]
        table.remove(doc_ids=dead)
    return len(dead)


def set_totp(clinic: Store, practitioner_id: str, secret: str | None) -> None:
    """Turn the second factor on (a secret, stored sealed) or off (None); any set-up in
    progress ends."""
    sealed = None if secret is None else clinic.sealer.seal(secret)
    with clinic.locked(CLINIC) as tdb:
        tdb.table(PRACTITIONERS).update(
            {"totp_secret": sealed, "totp_last_step": None, "totp_pending": None},
            where("id") == practitioner_id,
        )


def seal_plain_secrets(clinic: Store) -> int:
    """Seal any two-step secret stored before secrets were sealed; how many were."""
    if not clinic.exists(CLINIC):
        return 0
    with clinic.reading(CLINIC) as tdb:
        plain = [a["id"] for a in tdb.table(PRACTITIONERS).all() if _has_plain_secret(a)]
    if not plain:
        return 0  # the usual start: nothing written
    with clinic.locked(CLINIC) as tdb:
        table = tdb.table(PRACTITIONERS)
        for account in table.all():
            if _has_plain_secret(account):
                table.update(_sealed_fields(clinic, account), doc_ids=[account.doc_id])
    return len(plain)


def _has_plain_secret(account: dict) -> bool:
    secret, pending = account.get("totp_secret"), account.get("totp_pending")
    return bool(
        (secret and not SecretBox.is_sealed(secret))
        or (pending and not SecretBox.is_sealed(pending["secret"]))
    )


def _sealed_fields(clinic: Store, account: dict) -> dict:
    sealer, fields = clinic.sealer, {}
    secret, pending = account.get("totp_secret"), account.get("totp_pending")
    if secret and not SecretBox.is_sealed(secret):
        fields["totp_secret"] = sealer.seal(secret)
    if pending and not SecretBox.is_sealed(pending["secret"]):
        fields["totp_pending"] = {**pending, "secret": sealer.seal(pending["secret"])}
    return fields


def _opened(clinic: Store, account: dict) -> dict:
    """The account as callers use it: its two-step secrets opened.  One that this key
    cannot open stays sealed, so no code matches it (accounts.verify_totp): the account
    cannot sign in until `practitioner reset-two-step`, and the log says so."""
    opened = dict(account)
    if opened.get("totp_secret"):
        opened["totp_secret"] = _open(clinic, opened["totp_secret"])
    if opened.get("totp_pending"):
        pending = opened["totp_pending"]
        opened["totp_pending"] = {**pending, "secret": _open(clinic, pending["secret"])}
    return opened


def _open(clinic: Store, stored: str) -> str:
    try:
        return clinic.sealer.open(stored)
    except SealError as error:
        logging.getLogger(__name__).error("%s", error)
        return stored


def set_pending_totp(clinic: Store, practitioner_id: str, secret: str, now_ms: int) -> None:
    """Keep the secret being set up (shown once as a QR code) until it is confirmed.

    Server-side, not in the session cookie: the cookie is signed, not encrypted.
    """
    pending = {"secret": clinic.sealer.seal(secret), "made_ms": now_ms}
    with clinic.locked(CLINIC) as tdb:
        tdb.table(PRACTITIONERS).update({"totp_pending": pending}, where("id") == practitioner_id)


def use_totp_step(clinic: Store, practitioner_id: str, step: int) -> bool:
    """Record a used TOTP time step; False if it (or a later one) was used already."""
    with clinic.locked(CLINIC) as tdb:
        table = tdb.table(PRACTITIONERS)
        account = table.get(where("id") == practitioner_id)
        last = account.get("totp_last_step")
        if last is not None and step <= last:
            return False
        table.update({"totp_last_step": step}, where("id") == practitioner_id)
    return True


def start_console_session(
    clinic: Store, sid_hash: str, practitioner_id: str, csrf: str, now_ms: int
) -> None:
    record = {
        "sid_hash": sid_hash,
        "practitioner": practitioner_id,
        "csrf": csrf,
        "created_ms": now_ms,
        "last_seen_ms": now_ms,
    }
    with clinic.locked(CLINIC) as tdb:
        tdb.table(CONSOLE_SESSIONS).insert(record)


def console_session(clinic: Store, sid_hash: str) -> dict | None:
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(CONSOLE_SESSIONS).get(where("sid_hash") == sid_hash)
    return dict(found) if found else None


def touch_console_session(clinic: Store, sid_hash: str, now_ms: int) -> None:
    with clinic.locked(CLINIC) as tdb:
        tdb.table(CONSOLE_SESSIONS).update({"last_seen_ms": now_ms}, where("sid_hash") == sid_hash)


def end_console_session(clinic: Store, sid_hash: str) -> None:
    with clinic.locked(CLINIC) as tdb:
        tdb.table(CONSOLE_SESSIONS).remove(where("sid_hash") == sid_hash)


def add_client(clinic: Store, plan_id: str, practitioner_id: str, nickname: str, now_ms: int):
    with clinic.locked(CLINIC) as tdb:
        tdb.table(CLIENTS).insert(
            {
                "plan_id": plan_id,
                "practitioner": practitioner_id,
                "nickname": nickname,
                "created_ms": now_ms,
            }
        )


def clients_of(clinic: Store, practitioner_id: str) -> list[dict]:
    """The practitioner's clients, newest first."""
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(CLIENTS).search(where("practitioner") == practitioner_id)
    return sorted((dict(c) for c in found), key=lambda c: c["created_ms"], reverse=True)


def client_owner(clinic: Store, plan_id: str) -> str | None:
    """The practitioner who made this client plan, or None."""
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(CLIENTS).get(where("plan_id") == plan_id)
    return found["practitioner"] if found else None


def remove_client(clinic: Store, plan_id: str) -> None:
    """Forget the plan's client record and invitations (nothing to do without a clinic file)."""
    if not clinic.exists(CLINIC):
        return
    with clinic.locked(CLINIC) as tdb:
        tdb.table(CLIENTS).remove(where("plan_id") == plan_id)
        tdb.table(INVITATIONS).remove(where("plan_id") == plan_id)


def add_invitation(clinic: Store, code_hash: str, plan_id: str, expires_ms: int) -> None:
    _check_hash(code_hash)
    with clinic.locked(CLINIC) as tdb:
        # A new invitation replaces any unused one: a lost link stops working.
        tdb.table(INVITATIONS).remove((where("plan_id") == plan_id) & (where("used_ms") == None))  # noqa: E711
        tdb.table(INVITATIONS).insert(
            {"code_hash": code_hash, "plan_id": plan_id, "expires_ms": expires_ms, "used_ms": None}
        )


def invitation_plan(clinic: Store, code_hash: str, now_ms: int) -> str | None:
    """The plan an unused, unexpired invitation is for (without using it up)."""
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(INVITATIONS).get(where("code_hash") == code_hash)
    if found is None or found["used_ms"] is not None or now_ms >= found["expires_ms"]:
        return None
    return found["plan_id"]


def redeem_invitation(clinic: Store, code_hash: str, now_ms: int) -> str | None:
    """Use the invitation up; its plan id, or None if unknown, used or expired."""
    found = _use_once(clinic, CLINIC, INVITATIONS, "code_hash", code_hash, now_ms)
    return None if found is None else found["plan_id"]


# Helpers


def _use_once(store: Store, file_id: str, table_name: str, field: str, value: str, now_ms: int):
    """Mark a single-use, expiring secret (a join token, an invitation) used; the record, or
    None if it is unknown, already used or expired (or the file does not exist)."""
    try:
        with store.locked(file_id) as tdb:
            table = tdb.table(table_name)
            found = table.get(where(field) == value)
            if found is None or found["used_ms"] is not None or now_ms >= found["expires_ms"]:
                return None
            table.update({"used_ms": now_ms}, where(field) == value)
    except PlanNotFound:
        return None
    return dict(found)


def _meta(tdb: TinyDB) -> dict | None:
    # The plan table holds exactly one document.
    documents = tdb.table(PLAN).all()
    return dict(documents[0]) if documents else None


def _require_meta(tdb: TinyDB, plan_id: str) -> dict:
    meta = _meta(tdb)
    if meta is None:
        raise PlanNotFound(plan_id)
    return meta


def _well_formed(plan_id: Any) -> bool:
    try:
        check_plan_id(plan_id)
    except ValueError:
        return False
    return True


def _find_device(store: Store, plan_id: str, device_id: str) -> dict | None:
    if not _well_formed(plan_id):
        return None
    with store.reading(plan_id) as tdb:
        return tdb.table(DEVICES).get(where("device") == device_id)


def _credential_matches(device: dict | None, credential_hash: Any) -> bool:
    if device is None or device["revoked"] or not isinstance(credential_hash, str):
        return False
    # Constant-time, so response times do not reveal how much of a guess was right.
    return hmac.compare_digest(device["credential_hash"].encode(), credential_hash.encode())


def _require_device(tdb: TinyDB, device_id: str) -> dict:
    device = tdb.table(DEVICES).get(where("device") == device_id)
    if device is None or device["revoked"]:
        raise UnknownDevice(device_id)
    return device


def _check_hash(value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError("token hash must be a non-empty string")


def _push_index(store: Store) -> Path:
    if store.folder is None:
        # A memory store (tests) keeps its markers in a folder of its own.
        store.folder_for_markers = getattr(store, "folder_for_markers", None) or Path(
            tempfile.mkdtemp(prefix="push-index-")
        )
        return store.folder_for_markers
    return store.folder / PUSH_INDEX


def _push_marker(store: Store, plan_id: str) -> Path:
    folder = _push_index(store)
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / check_plan_id(plan_id)


def _check_new_device(device_id: Any, credential_hash: Any) -> None:
    if not isinstance(device_id, str) or not merge.DEVICE_ID.fullmatch(device_id):
        raise ValueError("device id must be 8 to 64 characters of A-Z a-z 0-9 _ -")
    if not isinstance(credential_hash, str) or not credential_hash:
        raise ValueError("credential hash must be a non-empty string")


def _new_device(device_id: str, credential_hash: str, now_ms: int, name: str) -> dict:
    return {
        "device": device_id,
        "name": name,
        "credential_hash": credential_hash,
        "added_ms": now_ms,
        "last_seen_ms": now_ms,
        "revoked": False,
    }


def _public_device(device: dict) -> dict:
    return {key: value for key, value in device.items() if key != "credential_hash"}


def _public_event(event: dict) -> dict:
    # Drops the internal `seq`, leaving exactly the fields the client sent.
    return {name: event[name] for name in merge.fields_of(event)}


def _accepted_events(device_id: str, events: list[dict], now_ms: int) -> list[dict]:
    # Validated again here so nothing malformed is ever stored, whoever calls.
    batch = merge.validate_batch(events, max_events=None)
    for index, event in enumerate(events):
        # A device may only speak for itself: another device's id would let it
        # win every same-millisecond tie that the device id decides.
        if event["device"] != device_id:
            raise merge.EventError(f"events[{index}].device: must be the sending device's id")
    return [merge.arrived(event, now_ms) for event in batch]
