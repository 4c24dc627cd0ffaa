"""Blueprint "console": the practitioner side, at /console.

Sign in and out, the list of my clients with adherence at a glance, a new
client plan with its one-time invitation (a QR code and a short link), and
a client's page.  A practitioner sees only the clients they created: any
other plan id answers 404, as if it did not exist (clients.py).  The
invitation page and the removal of a phone are blueprints of their own
inside this one (console_invitations.py, console_phones.py).  A change
answers with a redirect and a one-line confirmation (Flask's flash: its
text is no secret); a refused form says why beside the field it is about
(form_errors.py).
"""

from __future__ import annotations

import secrets
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from ..care import merge
from ..care import plans
from ..care import series
from ..sync import devices
from . import accounts
from . import clinic_time
from . import console_invitations
from . import console_phones
from . import form_errors
from . import login_waits
from .clients import client_row
from .clients import clinic_zone
from .clients import own_client
from .clients import plan_store
from .clients import protocols
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
# The new-client form's fields (templates/console/new_client.html), but the protocol choice,
# which it shows only when the clinic has several protocols.
NEW_CLIENT_FIELDS = {
    "nickname",
    "last-session",
    "session-number",
    "planned-sessions",
    "next-session",
    "skin-type",
    "pih-history",
    "pih-risk-mode",
}
CLINIC_DEVICE = devices.CLINIC_DEVICE
WRONG_LOGIN = "Wrong e-mail or password."
SECOND_STEP = "second step"
# The code must follow the password within this time.
PENDING_MS = 5 * 60 * 1000


bp.context_processor(console_globals)
bp.after_request(no_store)
bp.register_blueprint(console_invitations.bp)
bp.register_blueprint(console_phones.bp)


@bp.context_processor
def clinic_times() -> dict:
    """Moments and days in the clinic's time zone, in words ("today 09:12")."""
    zone, now = clinic_zone(), now_ms()
    today = clinic_time.today_in(zone, now)
    return {
        "clinic_moment": lambda ms: clinic_time.spoken(ms, zone, now),
        "clinic_day": lambda day: clinic_time.spoken_day(day, today),
    }


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
    rows = [client_row(c) for c in clinic_store().clients_of(practitioner["id"])]
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
        plan = plans.clinic_plan(form, config["CLINIC_TIME_ZONE"], config["PROTOCOL"], protocols())
    except plans.PlanError as error:
        shown = NEW_CLIENT_FIELDS | ({"protocol"} if len(protocols()) > 1 else set())
        problem = form_errors.new_client(str(error), shown)
        page = render_template(
            "console/new_client.html", form=form, problem=problem, **_form_context()
        )
        return page, 400
    plan_id = secrets.token_urlsafe(16)
    # The clinic's device has a credential nobody holds: it only writes from here.
    unusable = devices.digest(accounts.new_secret())
    plan_store().create_plan(plan_id, plan, CLINIC_DEVICE, unusable, now_ms(), name="Your clinic")
    clinic_store().add_client(plan_id, current_practitioner()["id"], nickname, now_ms())
    console_invitations.make_invitation(plan_id)
    flash(f"Plan made for {nickname}. Let them scan the invitation below.")
    # A redirect to a page that shows it: reloading that page makes nothing new.
    return redirect(url_for("console.invitations.show", plan_id=plan_id), 303)


@bp.get("/clients/<plan_id>")
@login_required
def client(plan_id: str):
    return _client_page(own_client(plan_id))


@bp.post("/clients/<plan_id>/sessions")
@login_required
def edit_session(plan_id: str):
    """Add, move or cancel a session: a session event from the clinic's device, which the
    client's phone takes in at its next sync and merges like its own edits."""
    check_csrf()
    found = own_client(plan_id)
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
    store = plan_store()
    plan, stored = store.get_plan(plan_id), store.session_events(plan_id)
    try:
        checked = merge.validate_batch([event])
        plans.check_events_fit(plan, checked, protocols(), datetime.now(UTC), stored)
    except (merge.EventError, plans.PlanError) as error:
        known = {s["session"] for s in series.build(plan, stored)}
        prefix = f"s-{session_id}" if form.get("session") in known else "new"
        typed = {name: form.get(name, "") for name in ("day", "time", "status")}
        problem = form_errors.session_edit(str(error), prefix, typed)
        return _client_page(found, problem), 400
    store.apply_events(plan_id, CLINIC_DEVICE, checked, now)
    flash(_session_saved(plan_id, plan, stored, event))
    return redirect(url_for("console.client", plan_id=plan_id), 303)


@bp.post("/clients/<plan_id>/delete")
@login_required
def delete_client(plan_id: str):
    check_csrf()
    found = own_client(plan_id)
    if request.form.get("confirm") != found["nickname"]:
        message = "Type the client's nickname exactly to delete the plan."
        return _client_page(found, form_errors.Refusal(message, ("confirm",))), 400
    plan_store().delete_plan(plan_id)
    clinic_store().remove_client(plan_id)
    flash(f"Deleted the plan of {found['nickname']}.")
    return redirect(url_for("console.index"), 303)


def _client_page(found: dict, problem: form_errors.Refusal | None = None):
    waiting = clinic_store().waiting_invitation(found["plan_id"], now_ms())
    until = clinic_time.spoken(waiting["expires_ms"], clinic_zone(), now_ms()) if waiting else ""
    return render_template(
        "console/client.html", client=client_row(found), problem=problem, invitation_until=until
    )


def _session_saved(plan_id: str, plan: dict, stored: list[dict], event: dict) -> str:
    """One line on what a session edit did: "Session 2 moved to Mon 4 Jan at 10:30."; a
    session that changed its number says so."""
    before = {s["session"]: s for s in series.build(plan, stored)}
    after = {s["session"]: s for s in series.build(plan, plan_store().session_events(plan_id))}
    was, now = before.get(event["session"]), after.get(event["session"])
    name = f"Session {(was or now)['number']}" if was or now else "The session"
    if event["status"] == "cancelled":
        return f"{name} cancelled."
    when = clinic_time.spoken_day(event["day"], clinic_time.today_in(clinic_zone(), now_ms()))
    when += f" at {event['time']}" if event["time"] else ""
    if was is None:
        line = f"{name} added: {when}"
    elif event["status"] == "done":
        line = f"{name} marked done: {when}"
    elif was["day"] != event["day"]:
        line = f"{name} moved to {when}"
    else:
        line = f"{name} saved: {when}"
    if was and now and was["number"] != now["number"]:
        line += f"; it is now session {now['number']}"
    return line + "."


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
        "protocols": protocols(),
        "default_protocol": config["PROTOCOL"],
    }


def _nickname(value: str) -> str:
    nickname = " ".join(value.split())
    if not 1 <= len(nickname) <= NICKNAME_MAX:
        raise plans.PlanError(f"nickname: 1 to {NICKNAME_MAX} characters (no full names needed)")
    return nickname
