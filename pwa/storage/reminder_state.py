"""What a plan's file holds for reminders: the calendar feed's key, each device's Web
Push subscription and preferences, and the log of reminders sent (each goes out once).

A folder of marker files names the plans that have push subscriptions, so a reminder
round visits those plans only, not every plan on disk.
"""

from __future__ import annotations

import hmac

from tinydb import where

from .plan_file import CALENDAR
from .plan_file import DEVICES
from .plan_file import PUSH
from .plan_file import SENT
from .plan_file import _push_index
from .plan_file import _push_marker
from .plan_file import _require_device
from .plan_file import _require_meta
from .rules import PUSH_FIRST_WAIT_MS
from .rules import PUSH_LONGEST_WAIT_MS
from .rules import check_hash as _check_hash
from .rules import well_formed as _well_formed
from .store import Store

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
