"""The clinic's file: practitioners, their console sessions, their clients, invitations.

It lives in one file of the clinic store (not a plan store), with the same lock and
atomic replace.  Two-step secrets are sealed on write and opened on read with the
store's `sealer` (sealed.py), so nothing else sees them sealed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from tinydb import where

from . import sealing
from .contract import AccountExists
from .rules import LOGIN_FAILURE_WINDOW_MS
from .rules import check_hash as _check_hash
from .rules import login_wait_ms
from .store import Store

CLINIC = "clinic-accounts-v1"
PRACTITIONERS = "practitioners"
CONSOLE_SESSIONS = "console_sessions"
CLIENTS = "clients"
INVITATIONS = "invitations"
LOGIN_FAILURES = "login_failures"


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
    return sealing.opened(clinic.sealer, found) if found else None


def get_practitioner(clinic: Store, practitioner_id: str) -> dict | None:
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(PRACTITIONERS).get(where("id") == practitioner_id)
    return sealing.opened(clinic.sealer, found) if found else None


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
        plain = [a["id"] for a in tdb.table(PRACTITIONERS).all() if sealing.has_plain_secret(a)]
    if not plain:
        return 0  # the usual start: nothing written
    with clinic.locked(CLINIC) as tdb:
        table = tdb.table(PRACTITIONERS)
        for account in table.all():
            if sealing.has_plain_secret(account):
                table.update(
                    sealing.sealed_fields(clinic.sealer, account), doc_ids=[account.doc_id]
                )
    return len(plain)


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


def add_invitation(
    clinic: Store, code_hash: str, plan_id: str, expires_ms: int, code: str | None = None
) -> None:
    """Store an invitation by its code's hash; with `code`, the code too, sealed, while it
    waits (see contract.py)."""
    _check_hash(code_hash)
    sealed = None if code is None else clinic.sealer.seal(code)
    with clinic.locked(CLINIC) as tdb:
        # A new invitation replaces any unused one: a lost link stops working.
        tdb.table(INVITATIONS).remove((where("plan_id") == plan_id) & (where("used_ms") == None))  # noqa: E711
        tdb.table(INVITATIONS).insert(
            {
                "code_hash": code_hash,
                "plan_id": plan_id,
                "expires_ms": expires_ms,
                "used_ms": None,
                "code_sealed": sealed,
            }
        )


def waiting_invitation(clinic: Store, plan_id: str, now_ms: int) -> dict | None:
    """The plan's waiting invitation with its code opened, or None (see contract.py)."""
    if not clinic.exists(CLINIC):
        return None
    waiting = (where("plan_id") == plan_id) & (where("used_ms") == None)  # noqa: E711
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(INVITATIONS).get(waiting)
    return sealing.waiting_code(clinic.sealer, found, now_ms)


def invitation_plan(clinic: Store, code_hash: str, now_ms: int) -> str | None:
    """The plan an unused, unexpired invitation is for (without using it up)."""
    with clinic.reading(CLINIC) as tdb:
        found = tdb.table(INVITATIONS).get(where("code_hash") == code_hash)
    return found["plan_id"] if _usable(found, now_ms) else None


def redeem_invitation(clinic: Store, code_hash: str, now_ms: int) -> str | None:
    """Use the invitation up, and forget its code; its plan id, or None if unknown, used or
    expired."""
    if not clinic.exists(CLINIC):
        return None
    with clinic.locked(CLINIC) as tdb:
        table = tdb.table(INVITATIONS)
        found = table.get(where("code_hash") == code_hash)
        if not _usable(found, now_ms):
            return None
        table.update({"used_ms": now_ms, "code_sealed": None}, doc_ids=[found.doc_id])
    return found["plan_id"]


def count_login_failure(clinic: Store, key: str, free: int, longest_ms: int, now_ms: int) -> int:
    """Count one wrong login under `key`; the failures in its window (see contract.py)."""
    with clinic.locked(CLINIC, create=True) as tdb:
        table = tdb.table(LOGIN_FAILURES)
        ended = [row.doc_id for row in table.all() if _has_ended(row, now_ms) and row["key"] != key]
        table.remove(doc_ids=ended)
        row = table.get(where("key") == key)
        if row is None or row["window_ends_ms"] <= now_ms:
            failures, window_ends_ms = 1, now_ms + LOGIN_FAILURE_WINDOW_MS
        else:
            failures, window_ends_ms = row["failures"] + 1, row["window_ends_ms"]
        wait = login_wait_ms(failures, free, longest_ms)
        counted = {
            "key": key,
            "failures": failures,
            "window_ends_ms": window_ends_ms,
            # A failure inside a running wait (refused before it counts) never shortens it.
            "wait_until_ms": max(now_ms + wait if wait else 0, row["wait_until_ms"] if row else 0),
        }
        table.upsert(counted, where("key") == key)
    return failures


def login_wait_ends_ms(clinic: Store, keys, now_ms: int) -> int:
    if not clinic.exists(CLINIC):
        return 0
    with clinic.reading(CLINIC) as tdb:
        table = tdb.table(LOGIN_FAILURES)
        ends = [row["wait_until_ms"] for key in keys for row in table.search(where("key") == key)]
    return max((end for end in ends if end > now_ms), default=0)


def forget_login_failures(clinic: Store, keys) -> None:
    if not clinic.exists(CLINIC):
        return
    with clinic.locked(CLINIC) as tdb:
        tdb.table(LOGIN_FAILURES).remove(where("key").one_of(list(keys)))


def _usable(invitation: dict | None, now_ms: int) -> bool:
    return (
        invitation is not None
        and invitation["used_ms"] is None
        and now_ms < invitation["expires_ms"]
    )


def _has_ended(row: dict, now_ms: int) -> bool:
    return row["window_ends_ms"] <= now_ms and row["wait_until_ms"] <= now_ms
