"""Blueprint "console": the practitioner side, at /console.

Sign in and out, the list of my clients with adherence at a glance, a new
client plan with its one-time invitation (a QR code and a short link), and
a client's page.  A practitioner sees only the clients they created: any
other plan id answers 404, as if it did not exist.
"""

from __future__ import annotations

import secrets
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from ..care import adherence
from ..care import merge
from ..care import plans
from ..care import readiness
from ..care import series
from ..care.days import local_day
from ..core import links
from ..sync import devices
from . import accounts
from . import login_waits
from .console_auth import check_csrf
from .console_auth import clinic_store
from .console_auth import console_globals
from .console_auth import current_practitioner
from .console_auth import log_in
from .console_auth import log_out
from .console_auth import login_required
from .console_auth import no_store
from .console_auth import now_ms
from .console_auth import safe_next

bp = Blueprint("console", __name__)

NICKNAME_MAX = 40
CLINIC_DEVICE = devices.CLINIC_DEVICE
WRONG_LOGIN = "Wrong e-mail or password."
SECOND_STEP = "second step"
# The code must follow the password within this time.
PENDING_MS = 5 * 60 * 1000


bp.context_processor(console_globals)
bp.after_request(no_store)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_practitioner() is not None:
            return redirect(url_for("console.index"))
        return render_template("console/login.html", next=request.args.get("next", ""))
    check_csrf()
    problem = _try_login(request.form.get("email", ""), request.form.get("password", ""))
    if problem == SECOND_STEP:
        session["pending_next"] = request.form.get("next", "")
        return redirect(url_for("console.login_code"))
    if problem:
        page = render_template("console/login.html", error=problem, next=request.form.get("next"))
        return page, 401 if problem == WRONG_LOGIN else 429
    return redirect(safe_next(request.form.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step: a code from the practitioner's authenticator app."""
    pending = session.get("pending_login")
    if not isinstance(pending, dict) or now_ms() - pending.get("at", 0) > PENDING_MS:
        session.pop("pending_login", None)
        return redirect(url_for("console.login"))
    if request.method == "GET":
        return render_template("console/login_code.html")
    check_csrf()
    clinic, throttle = clinic_store(), login_waits.login_waits()
    account = clinic.get_practitioner(pending["id"])
    if account is None or not account.get("totp_secret"):
        session.pop("pending_login", None)
        return redirect(url_for("console.login"))
    wait = throttle.wait_s(account["email"])
    if wait:
        error = login_waits.wait_message(wait)
        return render_template("console/login_code.html", error=error), 429
    step = accounts.verify_totp(
        account["totp_secret"], request.form.get("code", ""), account.get("totp_last_step")
    )
    if step is None or not clinic.use_totp_step(account["id"], step):
        throttle.failed(account["email"])
        return render_template("console/login_code.html", error="Wrong or used code."), 401
    throttle.succeeded(account["email"])
    following = session.get("pending_next", "")
    log_in(account)
    return redirect(safe_next(following))


@bp.post("/logout")
@login_required
def logout():
    check_csrf()
    log_out()
    response = redirect(url_for("console.login"))
    # Nothing of the console stays in this browser.
    response.headers["Clear-Site-Data"] = '"cache", "cookies"'
    return response


@bp.get("/")
@login_required
def index():
    practitioner = current_practitioner()
    rows = [_client_row(c) for c in clinic_store().clients_of(practitioner["id"])]
    return render_template("console/index.html", clients=[r for r in rows if r])


@bp.route("/clients/new", methods=["GET", "POST"])
@login_required
def new_client():
    config = current_app.config
    if request.method == "GET":
        return render_template("console/new_client.html", form={}, **_form_context())
    check_csrf()
    form = request.form.to_dict()
    try:
        nickname = _nickname(form.get("nickname", ""))
        plan = plans.clinic_plan(form, config["CLINIC_TIME_ZONE"], config["PROTOCOL"], _protocols())
    except plans.PlanError as error:
        context = _form_context()
        return render_template(
            "console/new_client.html", form=form, error=str(error), **context
        ), 400
    plan_id = secrets.token_urlsafe(16)
    # The clinic's device has a credential nobody holds: it only writes from here.
    unusable = devices.digest(accounts.new_secret())
    _plans().create_plan(plan_id, plan, CLINIC_DEVICE, unusable, now_ms(), name="Your clinic")
    clinic_store().add_client(plan_id, current_practitioner()["id"], nickname, now_ms())
    return _invitation_page(plan_id, nickname)


@bp.get("/clients/<plan_id>")
@login_required
def client(plan_id: str):
    row = _client_row(_own_client(plan_id))
    return render_template("console/client.html", client=row)


@bp.post("/clients/<plan_id>/invitation")
@login_required
def new_invitation(plan_id: str):
    check_csrf()
    found = _own_client(plan_id)
    return _invitation_page(plan_id, found["nickname"])


@bp.post("/clients/<plan_id>/sessions")
@login_required
def edit_session(plan_id: str):
    """Add, move or cancel a session: a session event from the clinic's device, which the
    client's phone takes in at its next sync and merges like its own edits."""
    check_csrf()
    _own_client(plan_id)
    form = request.form
    session_id = form.get("session") or secrets.token_urlsafe(9)
    now = now_ms()
    event = {
        "id": secrets.token_urlsafe(12),
        "device": CLINIC_DEVICE,
        "counter": now,
        "ts": now,
        "session": session_id,
        "day": form.get("day", ""),
        "time": form.get("time") or None,
        "status": form.get("status", "planned"),
    }
    store = _plans()
    try:
        checked = merge.validate_batch([event])
        plan = store.get_plan(plan_id)
        stored = store.session_events(plan_id)
        plans.check_events_fit(plan, checked, _protocols(), datetime.now(UTC), stored)
    except (merge.EventError, plans.PlanError) as error:
        message = str(error).replace("events[0].", "session ")
        return render_template(
            "console/client.html", client=_client_row(_own_client(plan_id)), error=message
        ), 400
    store.apply_events(plan_id, CLINIC_DEVICE, checked, now)
    return redirect(url_for("console.client", plan_id=plan_id))


@bp.post("/clients/<plan_id>/devices/<device_id>/revoke")
@login_required
def revoke_device(plan_id: str, device_id: str):
    check_csrf()
    _own_client(plan_id)
    if device_id == CLINIC_DEVICE or not _plans().revoke_device(plan_id, device_id):
        abort(404)
    return redirect(url_for("console.client", plan_id=plan_id))


@bp.post("/clients/<plan_id>/delete")
@login_required
def delete_client(plan_id: str):
    check_csrf()
    found = _own_client(plan_id)
    if request.form.get("confirm") != found["nickname"]:
        row = _client_row(found)
        message = "Type the client's nickname exactly to delete the plan."
        return render_template("console/client.html", client=row, error=message), 400
    _plans().delete_plan(plan_id)
    clinic_store().remove_client(plan_id)
    return redirect(url_for("console.index"))


def _invitation_page(plan_id: str, nickname: str):
    code = accounts.new_secret()
    days = current_app.config["INVITATION_DAYS"]
    expires = now_ms() + days * 24 * 60 * 60 * 1000
    clinic_store().add_invitation(accounts.digest(code), plan_id, expires)
    # The code travels in the fragment: never sent to a server, never in a log.
    link = links.external_url("settings.invite") + "#" + code
    return render_template(
        "console/invitation.html",
        nickname=nickname,
        plan_id=plan_id,
        link=link,
        qr=devices.qr_data_url(link),
        days=days,
    )


def _own_client(plan_id: str) -> dict:
    """The client record if the signed-in practitioner made it; otherwise the same 404."""
    practitioner = current_practitioner()
    for found in clinic_store().clients_of(practitioner["id"]):
        if found["plan_id"] == plan_id:
            if not _plans().plan_exists(plan_id):
                # Deleted from the client's phone (or by retention): forget the record too.
                clinic_store().remove_client(plan_id)
                break
            return found
    abort(404)


def _client_row(found: dict) -> dict | None:
    store, plan_id = _plans(), found["plan_id"]
    plan = store.get_plan(plan_id)
    if plan is None:
        return None
    sessions = series.build(plan, store.session_events(plan_id))
    today = local_day(datetime.now(UTC), plan["time_zone"], plan["day_start_hour"])
    schedule = current_app.extensions["schedules"][plan["protocol"]["id"]]
    ticks = store.tick_state(plan_id)
    phones = [d for d in store.list_devices(plan_id) if d["device"] != CLINIC_DEVICE]
    seen = [d["last_seen_ms"] for d in phones if not d["revoked"]]
    upcoming = [s for s in sessions if s["status"] == "planned" and s["day"] >= today.isoformat()]
    for planned in upcoming:
        planned["readiness"] = readiness.session_readiness(planned["day"], ticks, schedule)
    return {
        **found,
        "plan": plan,
        "sessions": sessions,
        "total": series.total_sessions(plan, sessions),
        "progress": adherence.run_progress(
            plan, sessions, ticks, schedule, today, adherence.started_day(plan, phones)
        ),
        "last_sync_ms": max(seen) if seen else None,
        "devices": phones,
        "next_session": upcoming[0] if upcoming else None,
    }


def _try_login(email: str, password: str) -> str | None:
    """Sign in, or the message to show.  Unknown e-mail and wrong password read the same,
    and so does the wait after wrong tries (login_waits.LoginWaits counts any e-mail)."""
    clinic, throttle = clinic_store(), login_waits.login_waits()
    wait = throttle.wait_s(email)
    if wait:
        return login_waits.wait_message(wait)
    try:
        account = clinic.find_practitioner(accounts.check_email(email))
    except accounts.AccountError:
        account = None
    # Always verified, so timing says nothing about the account.
    right = accounts.verify_password(account["password_hash"] if account else None, password)
    # A disabled account reads like a wrong password: nothing says it exists.
    if not right or account.get("disabled"):
        throttle.failed(email)
        return WRONG_LOGIN
    if accounts.needs_rehash(account["password_hash"]):
        clinic.set_password_hash(account["id"], accounts.hash_password(password))
    if account.get("totp_secret"):
        # The password was right; the failure count resets only after the code.
        session.clear()
        session["pending_login"] = {"id": account["id"], "at": now_ms()}
        return SECOND_STEP
    throttle.succeeded(email)
    log_in(account)
    return None


def _form_context() -> dict:
    config = current_app.config
    return {
        "time_zone": config["CLINIC_TIME_ZONE"],
        "protocols": _protocols(),
        "default_protocol": config["PROTOCOL"],
    }


def _nickname(value: str) -> str:
    nickname = " ".join(value.split())
    if not 1 <= len(nickname) <= NICKNAME_MAX:
        raise plans.PlanError(f"nickname: 1 to {NICKNAME_MAX} characters (no full names needed)")
    return nickname


def _plans():
    return current_app.extensions["plans"]


def _protocols() -> dict[str, dict]:
    return current_app.extensions["protocols"]
