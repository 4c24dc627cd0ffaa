"""Device identity without an account: credentials, join links, and who may do what.

Every device holds its own random credential; the server keeps only its
SHA-256 (the credential has 128+ random bits, so a slow password hash adds
nothing).  Linking another device uses a single-use join token that expires
after a day; the token travels in the link's fragment, which browsers never
send to a server, and is redeemed only by a POST from the new device.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from base64 import b64encode

import segno
import ua_parser

from .. import storage

JOIN_TOKEN_TTL_MS = 24 * 60 * 60 * 1000
SCHEME = "Bearer "
# The clinic's own device on each plan made in the console: console edits are its events.
# Its credential is one nobody holds, and it is not one of the client's devices to list.
CLINIC_DEVICE = "clinic-console"
NAME_MAX = 60


def readable_name(user_agent: str) -> str:
    """How a device is shown to its owner, from its browser's User-Agent:
    "Chrome Mobile on Android", "Mobile Safari on iPhone"; "" when it says nothing usable."""
    found = ua_parser.parse(user_agent[:512])
    browser = found.user_agent.family if found.user_agent else ""
    system = found.os.family if found.os else ""
    if found.device and found.device.family in ("iPhone", "iPad"):
        system = found.device.family  # "iOS" says less to most people
    parts = [part for part in (browser, system) if part and part != "Other"]
    return " on ".join(parts)[:NAME_MAX]


def digest(secret: str) -> str:
    """What the server stores instead of a credential or token."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def prepare_names() -> None:
    """Compile the browser rules that `readable_name` uses (about 0.3 s) once, in
    gunicorn's master before it forks, so no worker makes a phone wait for it."""
    readable_name("Mozilla/5.0")


def register(store, plan_id, plan, device_id, credential, now_ms, name="") -> bool | None:
    """Store a new plan: True when created, False when this same device already did
    (a retried request), None when another device's plan has the id."""
    try:
        store.create_plan(plan_id, plan, device_id, digest(credential), now_ms, name)
        return True
    except storage.PlanExists:
        if store.device_is_valid(plan_id, device_id, digest(credential)):
            return False
        return None


def authenticate(store, plan_id: str, header: str) -> str | None:
    """The device id if the Authorization header proves it belongs to the plan, else None."""
    claimed = _claimed_device(header)
    # Storage answers False for a malformed plan id too: one path for every stranger.
    if claimed and store.device_is_valid(plan_id, *claimed):
        return claimed[0]
    return None


def authenticate_with(snapshot, header: str) -> str | None:
    """Like `authenticate`, against a plan already read (the plan store's snapshot)."""
    claimed = _claimed_device(header)
    return claimed[0] if claimed and snapshot.device_is_valid(*claimed) else None


def _claimed_device(header: str) -> tuple[str, str] | None:
    """(device id, credential hash) from `Bearer <device id>.<credential>`, or None."""
    if not header.startswith(SCHEME) or "." not in header:
        return None
    device_id, _, credential = header.removeprefix(SCHEME).partition(".")
    if not credential.isascii():
        return None  # no credential we hand out has such a character: a stranger's 404
    return device_id, digest(credential)


def new_join_link(store, plan_id: str, join_url: str, now_ms: int) -> dict:
    """A single-use link (token in the fragment) and its QR code as an SVG data URL."""
    token = secrets.token_urlsafe(24)
    expires_ms = now_ms + JOIN_TOKEN_TTL_MS
    store.add_join_token(plan_id, digest(token), expires_ms, now_ms)
    link = f"{join_url}#{plan_id}.{token}"
    return {"link": link, "qr": qr_data_url(link), "expires_ms": expires_ms}


def join(store, plan_id, token, device_id, credential, now_ms, name="") -> dict | None:
    """Redeem a join token for a new device; the plan, or None if the token is not good.
    storage.TooMany if the plan has all the devices it may have (the token stays unused)."""
    try:
        store.check_room_for_device(plan_id)
        if not store.redeem_join_token(plan_id, digest(token), now_ms):
            return None
        store.add_device(plan_id, device_id, digest(credential), now_ms, name)
    except (storage.PlanNotFound, storage.DeviceExists):
        return None
    return store.get_plan(plan_id)


def qr_data_url(text: str) -> str:
    """The QR code of `text` as an SVG data URL (the page's CSP allows data: images)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=6, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + b64encode(buffer.getvalue()).decode("ascii")
