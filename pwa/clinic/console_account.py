"""The console's own-account pages: a practitioner's password and two-step sign-in.

What changes how one signs in asks for proof again, since a browser left signed in is not
enough: the current password to change it (then every other session ends); the password and
a fresh code to turn two-step sign-in off, a wrong one slowing the next try as a wrong login
does (login_waits.py).  The secret being set up is kept server-side until confirmed, never
in the (signed, readable) session cookie.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from ..sync import devices
from . import accounts
from . import login_waits
from .console_auth import check_csrf
from .console_auth import clinic_store
from .console_auth import console_globals
from .console_auth import current_practitioner
from .console_auth import login_required
from .console_auth import no_store
from .console_auth import now_ms
from .form_errors import Refusal

# A secret shown for set-up must be confirmed with a code within this time.
SETUP_MS = 10 * 60 * 1000

bp = Blueprint("console_account", __name__)
bp.context_processor(console_globals)
bp.after_request(no_store)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "GET":
        return render_template("console/password.html")
    check_csrf()
    account = current_practitioner()
    form, throttle = request.form, login_waits.login_waits()
    wait = throttle.wait_s(account["email"])
    if wait:
        return _refused(Refusal(login_waits.wait_message(wait), form="password"))
    if not accounts.verify_password(account["password_hash"], form.get("current", "")):
        throttle.failed(account["email"])
        message = "Your current password is wrong. Nothing was changed."
        return _refused(Refusal(message, ("current",)))
    if form.get("new", "") != form.get("again", ""):
        message = "The two new passwords do not match. Nothing was changed."
        return _refused(Refusal(message, ("new", "again")))
    try:
        new = accounts.check_new_password(form.get("new", ""), account["email"])
    except accounts.AccountError as error:
        # The message names its field for the API ("password: ..."); a person needs no prefix.
        reason = str(error).removeprefix("password: ").rstrip(".")
        message = f"{reason[0].upper()}{reason[1:]}. Nothing was changed."
        return _refused(Refusal(message, ("new",)))
    clinic = clinic_store()
    clinic.set_password_hash(account["id"], accounts.hash_password(new))
    clinic.end_console_sessions(account["id"], keep_sid_hash=g.sid_hash)
    return render_template("console/password.html", done=True)


def _refused(problem: Refusal):
    return render_template("console/password.html", problem=problem), 400


@bp.get("/two-step")
@login_required
def two_step():
    return render_template("console/two_step.html", setup=None)


@bp.post("/two-step/start")
@login_required
def two_step_start():
    check_csrf()
    practitioner = current_practitioner()
    # Replacing a factor that is on would let a borrowed session swap in its own.
    if practitioner.get("totp_secret"):
        message = "Two-step sign-in is on already: turn it off first (password and a code)."
        problem = Refusal(message, form="two-step")
        return render_template("console/two_step.html", setup=None, problem=problem), 400
    secret = accounts.new_totp_secret()
    clinic_store().set_pending_totp(practitioner["id"], secret, now_ms())
    return _two_step_setup_page(secret)


@bp.post("/two-step/confirm")
@login_required
def two_step_confirm():
    check_csrf()
    practitioner = current_practitioner()
    pending = practitioner.get("totp_pending") or {}
    if practitioner.get("totp_secret") or now_ms() - pending.get("made_ms", 0) > SETUP_MS:
        return redirect(url_for("console_account.two_step"))
    secret = pending["secret"]
    step = accounts.verify_totp(secret, request.form.get("code", ""), None)
    if step is None:
        problem = Refusal("That code does not match. Try the next one.", ("code",))
        return _two_step_setup_page(secret, problem), 400
    clinic_store().set_totp(practitioner["id"], secret)
    clinic_store().use_totp_step(practitioner["id"], step)
    flash("Two-step sign-in is on: from now on, a code follows your password.")
    return redirect(url_for("console.index"))


@bp.post("/two-step/disable")
@login_required
def two_step_disable():
    """Turning the factor off needs the password and a fresh code, as a login does; a wrong
    one slows the next try like a wrong login."""
    check_csrf()
    practitioner, clinic, config = current_practitioner(), clinic_store(), current_app.config
    if config["REQUIRE_TOTP"] or not practitioner.get("totp_secret"):
        abort(400, "Two-step sign-in is required by the clinic.")
    throttle = login_waits.login_waits()
    wait = throttle.wait_s(practitioner["email"])
    if wait:
        problem = Refusal(login_waits.wait_message(wait), form="two-step-off")
        return render_template("console/two_step.html", setup=None, problem=problem), 429
    right_password = accounts.verify_password(
        practitioner["password_hash"], request.form.get("password", "")
    )
    step = accounts.verify_totp(
        practitioner["totp_secret"],
        request.form.get("code", ""),
        practitioner.get("totp_last_step"),
    )
    if not right_password or step is None or not clinic.use_totp_step(practitioner["id"], step):
        throttle.failed(practitioner["email"])
        message = "Wrong password, or a wrong or used code. Nothing was changed."
        problem = Refusal(message, ("off-password", "code"))
        return render_template("console/two_step.html", setup=None, problem=problem), 400
    clinic.set_totp(practitioner["id"], None)
    flash("Two-step sign-in is off.")
    return redirect(url_for("console_account.two_step"))


def _two_step_setup_page(secret: str, problem: Refusal | None = None):
    practitioner = current_practitioner()
    issuer = current_app.config["CLINIC_NAME"] or current_app.config["APP_NAME"]
    uri = accounts.totp_uri(secret, practitioner["email"], issuer)
    setup = {"secret": secret, "qr": devices.qr_data_url(uri)}
    return render_template("console/two_step.html", setup=setup, problem=problem)
