"""A plan's file: the plan, its linked devices, device links (join tokens) and events.

Each plan is one file of the plan store holding these tables: `plan` (one document:
the plan as given, the sequence counter, the creation time and the event tables'
index), `devices`, `join_tokens`, the event tables (plan_events.py), and the
reminder tables that reminder_state.py keeps.  Every change runs inside one
`store.locked()` block, so it lands as one atomic file replace: a plan is never
half-updated.  Things are found by natural keys (device id, token hash, event id),
never by TinyDB's doc ids, which other processes hand out too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb import where

from . import plan_events
from .contract import DeviceExists
from .contract import PlanExists
from .contract import PlanNotFound
from .contract import TooMany
from .contract import UnknownDevice
from .rules import MAX_DEVICES
from .rules import MAX_DEVICES_EVER
from .rules import MAX_WAITING_LINKS
from .rules import check_new_device as _check_new_device
from .rules import credential_matches as _credential_matches
from .rules import well_formed as _well_formed
from .store import Store
from .store import check_plan_id

PLAN = "plan"
DEVICES = "devices"
TOKENS = "join_tokens"
CALENDAR = "calendar"
PUSH = "push"
SENT = "sent"
# Marker files naming the plans that have push subscriptions, so the reminder
# sender visits those plans only, not every plan on disk.
PUSH_INDEX = "push-index"
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
        "events": [plan_events.public_event(event) for event in events],
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


def _find_device(store: Store, plan_id: str, device_id: str) -> dict | None:
    if not _well_formed(plan_id):
        return None
    with store.reading(plan_id) as tdb:
        return tdb.table(DEVICES).get(where("device") == device_id)


def _require_device(tdb: TinyDB, device_id: str) -> dict:
    device = tdb.table(DEVICES).get(where("device") == device_id)
    if device is None or device["revoked"]:
        raise UnknownDevice(device_id)
    return device


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
