"""Signing in to the practitioner console: server-side sessions, CSRF, timeouts, limits.

The browser holds only a random session id in Flask's signed cookie
(HttpOnly, SameSite=Lax, Secure over HTTPS); the clinic store keeps the
session record, so logging out really ends it, and idle and absolute
timeouts are checked on every request.  Every console form carries a CSRF
token checked on POST.  How often one may try to sign in is rate_limits.py's; the
wait after wrong tries is login_waits.py's.
"""

from __future__ import annotations

import hmac
import time
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask.sessions import SecureCookieSessionInterface

from .. import storage
from ..core import sealed
from . import accounts

# A console request refreshes its session's "last seen" at most this often.
TOUCH_EVERY_MS = 60 * 1000


class _SecureWhenHttps(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def init_app(app: Flask) -> None:
    config = app.config
    key_file = Path(config["TOTP_KEY_FILE"] or sealed.default_key_file(config["DATA_DIR"]))
    if not key_file.is_absolute():
        key_file = config["DATA_DIR"] / key_file
    # Made (or read) by gunicorn's master first, like the secret key: never by each worker.
    box = sealed.SecretBox(sealed.load_key(sealed.key_from_environment(), key_file))
    # What seals two-step secrets at rest; `flask db import-files` opens them with it too.
    app.extensions["secret_box"] = box
    clinic = storage.clinic_store(config, sealer=box)
    app.extensions["clinic"] = clinic
    clinic.seal_plain_secrets()
    app.session_interface = _SecureWhenHttps()
    app.config.update(
        SESSION_COOKIE_NAME="console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )


def clinic_store() -> storage.ClinicStore:
    return current_app.extensions["clinic"]


def now_ms() -> int:
    return int(time.time() * 1000)


def timeouts() -> accounts.Timeouts:
    config = current_app.config
    return accounts.Timeouts(
        idle_ms=config["CONSOLE_IDLE_MINUTES"] * 60 * 1000,
        absolute_ms=config["CONSOLE_MAX_HOURS"] * 60 * 60 * 1000,
    )


def current_practitioner() -> dict | None:
    """The signed-in practitioner, or None (an ended or timed-out session is cleared)."""
    if "practitioner" in g:
        return g.practitioner
    g.practitioner = None
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    sid_hash, now = accounts.digest(sid), now_ms()
    record = clinic_store().console_session(sid_hash)
    if record is None or not accounts.session_is_live(record, now, timeouts()):
        if record is not None:
            clinic_store().end_console_session(sid_hash)
        session.clear()
        return None
    # Refreshed often enough that a short idle timeout never ends an active session.
    if now - record["last_seen_ms"] > min(TOUCH_EVERY_MS, timeouts().idle_ms // 10):
        clinic_store().touch_console_session(sid_hash, now)
    account = clinic_store().get_practitioner(record["practitioner"])
    if account is None or account.get("disabled"):
        clinic_store().end_console_session(sid_hash)
        session.clear()
        return None
    g.practitioner = account
    g.csrf = record["csrf"]
    g.sid_hash = sid_hash
    return g.practitioner


# Pages a practitioner may use before setting up a required second factor.
TWO_STEP_ENDPOINTS = {
    "console_account.two_step",
    "console_account.two_step_start",
    "console_account.two_step_confirm",
    "console.logout",
}


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        practitioner = current_practitioner()
        if practitioner is None:
            return redirect(url_for("console.login", next=request.path))
        if (
            current_app.config["REQUIRE_TOTP"]
            and not practitioner.get("totp_secret")
            and request.endpoint not in TWO_STEP_ENDPOINTS
        ):
            return redirect(url_for("console_account.two_step"))
        return view(*args, **kwargs)

    return wrapped


def console_globals() -> dict:
    """What every console template may use; registered by each console blueprint."""
    return {"csrf_token": csrf_token, "practitioner": current_practitioner()}


def no_store(response):
    # Client lists are health data: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def csrf_token() -> str:
    """The token this browser's forms must send back: the session's, or a pre-login one."""
    if current_practitioner() is not None:
        return g.csrf
    if not isinstance(session.get("login_csrf"), str):
        session["login_csrf"] = accounts.new_secret()
    return session["login_csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), csrf_token().encode()):
        abort(400, "This form has expired. Go back, reload the page and try again.")


def log_in(practitioner: dict) -> None:
    # A fresh session id at every login, so a planted one never becomes valid.
    session.clear()
    sid, csrf, now = accounts.new_secret(), accounts.new_secret(), now_ms()
    # Timed-out sessions of anyone go now, so they never pile up in the clinic file.
    limits = timeouts()
    clinic_store().purge_console_sessions(
        lambda record: accounts.session_is_live(record, now, limits)
    )
    clinic_store().start_console_session(accounts.digest(sid), practitioner["id"], csrf, now)
    session["sid"] = sid
    g.pop("practitioner", None)


def log_out() -> None:
    sid = session.get("sid")
    if isinstance(sid, str):
        clinic_store().end_console_session(accounts.digest(sid))
    session.clear()
    g.pop("practitioner", None)


def safe_next(target: str | None) -> str:
    """Where to go after login: only a console path on this site."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return url_for("console.index")
    return parts.path
