"""Blueprint "api": JSON endpoints under /api.  Errors here are always JSON (see errors.py).

A plan is created on the phone and registered here when the phone is online.
Each device proves itself with its own credential (`Authorization: Bearer
<device id>.<credential>`); an unknown plan and a wrong credential get the
same 404, so nobody can probe which plans exist.  A request that fails
validation changes nothing: a batch of ticks is applied whole or not at all.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import request

from .. import storage
from ..care import merge
from ..care import plans
from ..clinic import accounts
from ..core import links
from ..core import rate_limits
from ..core.errors import error_response
from ..reminders import due
from ..reminders import push
from ..reminders import push_checks
from . import api_schema
from . import devices

bp = Blueprint("api", __name__)

NOT_FOUND = "No plan with this id for this device."
INVITATION_GONE = "This invitation has expired or was already used. Ask your clinic for a new one."


@bp.get("/health")
def health():
    """Liveness for deployments and tests: answers once a worker can serve."""
    return {"status": "ok"}


@bp.post("/plans")
def register_plan():
    body = _json_body()
    plan_id = _plan_id(body.get("plan_id"))
    device_id = _device_id(body.get("device_id"))
    credential = plans.check_credential(body.get("credential"), "credential")
    plan = plans.check_plan(body.get("plan"), _protocols())
    created = devices.register(
        _plans(), plan_id, plan, device_id, credential, _now_ms(), _device_name()
    )
    if created is None:
        return error_response(409, "conflict", "A plan with this id already exists.")
    return {"plan_id": plan_id, "cursor": 0}, 201 if created else 200


@bp.post("/plans/<plan_id>/sync")
def sync(plan_id: str):
    # One read of the plan file serves the credential check, the fit check and a poll's answer.
    snap = _plans().snapshot(plan_id)
    device_id = _authorised(plan_id, snap)
    # Counted once the credential is good (a stranger cannot use up a plan's budget) and
    # before the plan's events are parsed, the costly part of a big plan.
    rate_limits.check_plan_sync(plan_id)
    body = _json_body()  # the schema has checked cursor: a whole number from 0
    cursor = body["cursor"]
    raw_events = body.get("events")
    events = merge.Batch() if raw_events == [] else merge.validate_batch(raw_events)
    now_ms = _now_ms()
    events, set_aside = plans.fitting_events(
        snap.plan,
        events,
        _protocols(),
        datetime.fromtimestamp(now_ms / 1000, UTC),
        snap.session_events(),
    )
    limit = storage.PAGE_SIZE
    if events:
        page = _plans().apply_and_read(
            plan_id, device_id, events, now_ms, cursor, seen=snap, limit=limit
        )
    else:
        page = snap.page(cursor, limit)
    return {
        "cursor": page.cursor,
        "events": page.events,
        # The phone asks again from `cursor` while this is true (static/js/lib/sync.js).
        "more": page.more,
        "acknowledged": [e["id"] for e in events],
        "set_aside": set_aside,
        # A phone learns from this how far its own clock is off, and stamps its edits with
        # the corrected time (static/js/lib/sync.js).
        "server_time": now_ms,
    }


@bp.post("/plans/<plan_id>/join-tokens")
def create_join_token(plan_id: str):
    _authorised(plan_id)
    join_url = links.external_url("settings.join")
    return devices.new_join_link(_plans(), plan_id, join_url, _now_ms())


@bp.post("/join")
def join():
    body = _json_body()
    plan_id = _plan_id(body.get("plan_id"))
    token = plans.check_credential(body.get("token"), "token")
    device_id = _device_id(body.get("device_id"))
    credential = plans.check_credential(body.get("credential"), "credential")
    plan = devices.join(_plans(), plan_id, token, device_id, credential, _now_ms(), _device_name())
    if plan is None:
        return error_response(404, "not_found", "This link has expired or was already used.")
    return {"plan_id": plan_id, "plan": plans.with_defaults(plan), "cursor": 0}


@bp.post("/invitations/check")
def check_invitation():
    """Whether an invitation can still be used (without using it), so the page can say so."""
    code = plans.check_credential(_json_body().get("code"), "code")
    clinic = current_app.extensions["clinic"]
    if clinic.invitation_plan(accounts.digest(code), _now_ms()) is None:
        return error_response(404, "not_found", INVITATION_GONE)
    return {"clinic_name": current_app.config["CLINIC_NAME"]}


@bp.post("/invitations/redeem")
def redeem_invitation():
    """Use an invitation once: this device gets its own credential and the clinic's plan."""
    body = _json_body()
    code = plans.check_credential(body.get("code"), "code")
    device_id = _device_id(body.get("device_id"))
    credential = plans.check_credential(body.get("credential"), "credential")
    clinic, code_hash = current_app.extensions["clinic"], accounts.digest(code)
    plan_id = clinic.invitation_plan(code_hash, _now_ms())
    if plan_id is None:
        return error_response(404, "not_found", INVITATION_GONE)
    # The device first, so a refused device id leaves the invitation unused.
    try:
        _plans().add_device(
            plan_id, device_id, devices.digest(credential), _now_ms(), _device_name()
        )
    except storage.DeviceExists:
        return error_response(409, "conflict", "device_id: already used on this plan")
    try:
        redeemed = clinic.redeem_invitation(code_hash, _now_ms())
    except Exception:
        _plans().revoke_device(plan_id, device_id)  # nothing half-done stays
        raise
    if redeemed is None:
        # Used by another phone in the meantime: this one does not get in.
        _plans().revoke_device(plan_id, device_id)
        return error_response(404, "not_found", INVITATION_GONE)
    plan = plans.with_defaults(_plans().get_plan(plan_id))
    return {"plan_id": plan_id, "plan": plan, "cursor": 0}


@bp.get("/plans/<plan_id>/export")
def export(plan_id: str):
    _authorised(plan_id)
    exported = _plans().export_plan(plan_id)
    exported["plan"] = plans.with_defaults(exported["plan"])
    response = current_app.json.response(exported)
    response.headers["Content-Disposition"] = 'attachment; filename="aftercare-export.json"'
    return response


@bp.post("/plans/<plan_id>/forget")
def forget_device(plan_id: str):
    """Unlink this device and tell the browser to drop everything the app stored."""
    device_id = _authorised(plan_id)
    _plans().revoke_device(plan_id, device_id)
    response = current_app.response_class(status=204)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@bp.get("/plans/<plan_id>/devices")
def list_devices(plan_id: str):
    """The plan's linked devices (not the clinic's console), for Settings."""
    device_id = _authorised(plan_id)
    return {
        "devices": [
            {
                "device_id": device["device"],
                "name": device["name"],
                "added_ms": device["added_ms"],
                "last_seen_ms": device["last_seen_ms"],
                "this_device": device["device"] == device_id,
            }
            for device in _plans().list_devices(plan_id)
            if not device["revoked"] and device["device"] != devices.CLINIC_DEVICE
        ]
    }


@bp.delete("/plans/<plan_id>/devices/<device_id>")
def remove_device(plan_id: str, device_id: str):
    """Unlink another of the plan's devices (a lost phone): its credential stops working."""
    asking = _authorised(plan_id)
    if device_id == asking:
        return error_response(400, "invalid", "device_id: this device; use forget instead")
    listed = {d["device"]: d for d in _plans().list_devices(plan_id)}
    other = listed.get(device_id)
    if other is None or other["revoked"] or device_id == devices.CLINIC_DEVICE:
        return error_response(404, "not_found", "No such device on this plan.")
    _plans().revoke_device(plan_id, device_id)
    return "", 204


@bp.delete("/plans/<plan_id>")
def delete(plan_id: str):
    _authorised(plan_id)
    _plans().delete_plan(plan_id)
    # A clinic's client record goes too: the console must not list a plan that is gone.
    current_app.extensions["clinic"].remove_client(plan_id)
    return "", 204


@bp.get("/plans/<plan_id>/calendar-link")
def calendar_link(plan_id: str):
    _authorised(plan_id)
    link = _plans().calendar_link(plan_id)
    return {"exists": link is not None, "explicit_titles": bool(link and link["explicit_titles"])}


@bp.post("/plans/<plan_id>/calendar-link")
def new_calendar_link(plan_id: str):
    """A new private feed link; the one before it stops working."""
    device_id = _authorised(plan_id)
    explicit = _boolean(_json_body().get("explicit_titles", False), "explicit_titles")
    token = secrets.token_urlsafe(24)
    _plans().set_calendar_link(
        plan_id, devices.digest(token), explicit, _now_ms(), made_by=device_id
    )
    feed = links.external_url("sessions.feed", plan=plan_id, key=token)
    webcal = "webcal://" + feed.split("://", 1)[1]
    return {"feed_url": feed, "webcal_url": webcal, "explicit_titles": explicit}, 201


@bp.patch("/plans/<plan_id>/calendar-link")
def calendar_options(plan_id: str):
    _authorised(plan_id)
    explicit = _boolean(_json_body().get("explicit_titles"), "explicit_titles")
    if not _plans().set_calendar_options(plan_id, explicit):
        return error_response(404, "not_found", "This plan has no calendar link.")
    return {"explicit_titles": explicit}


@bp.delete("/plans/<plan_id>/calendar-link")
def remove_calendar_link(plan_id: str):
    _authorised(plan_id)
    _plans().remove_calendar_link(plan_id)
    return "", 204


@bp.get("/push/key")
def push_key():
    """The VAPID public key for PushManager.subscribe, or 404 when push is off here."""
    if not current_app.config["PUSH_CONTACT"]:
        return error_response(404, "push_off", "Notifications are not set up on this server.")
    return {"public_key": push.application_server_key(current_app.config["VAPID_KEY_PATH"])}


@bp.put("/plans/<plan_id>/push")
def subscribe_push(plan_id: str):
    device_id = _authorised(plan_id)
    if not current_app.config["PUSH_CONTACT"]:
        return error_response(404, "push_off", "Notifications are not set up on this server.")
    body = _json_body()
    allowed = current_app.config["PUSH_SERVICE_HOSTS"]
    subscription = push_checks.check_subscription(body.get("subscription"), allowed)
    raw_prefs = body.get("prefs")
    checked = due.check_prefs(raw_prefs)
    # Only what the device chose is kept: the rest follows the server's settings.
    prefs = {name: checked[name] for name in raw_prefs}
    _plans().set_push(plan_id, device_id, subscription, prefs, _now_ms())
    config = current_app.config
    defaults = {"quiet_start": config["QUIET_HOURS_START"], "quiet_end": config["QUIET_HOURS_END"]}
    return {"prefs": due.check_prefs({**defaults, **prefs})}


@bp.delete("/plans/<plan_id>/push")
def unsubscribe_push(plan_id: str):
    device_id = _authorised(plan_id)
    _plans().remove_push(plan_id, device_id)
    return "", 204


def _boolean(value, field: str) -> bool:
    if type(value) is not bool:
        raise plans.PlanError(f"{field}: must be true or false")
    return value


def _authorised(plan_id: str, snap: storage.PlanSnapshot | None = None) -> str:
    """The device id behind the request's credential, or the one 404 for every failure."""
    header = request.headers.get("Authorization", "")
    if snap is not None:
        device_id = devices.authenticate_with(snap, header)
    else:
        device_id = devices.authenticate(_plans(), plan_id, header)
    if device_id is None:
        abort(404, NOT_FOUND)
    return device_id


def _json_body() -> dict:
    """The request's JSON object, checked against its operation's schema in openapi.json."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None  # nested too deep for the parser: no honest client sends that
    if not isinstance(body, dict):
        abort(400, "The request body must be a JSON object.")
    api_schema.check_body(request.url_rule.rule, request.method, body)
    return body


def _plan_id(value) -> str:
    try:
        return storage.check_plan_id(value)
    except ValueError as error:
        raise plans.PlanError(f"plan_id: {error}") from None


def _device_id(value) -> str:
    if not isinstance(value, str) or not merge.DEVICE_ID.fullmatch(value):
        raise plans.PlanError("device_id: must be 8 to 64 characters of A-Z a-z 0-9 _ -")
    return value


def _device_name() -> str:
    return devices.readable_name(request.headers.get("User-Agent", ""))


def _plans():
    return current_app.extensions["plans"]


def _protocols() -> dict[str, dict]:
    return current_app.extensions["protocols"]


def _now_ms() -> int:
    return int(time.time() * 1000)
