"""The console's own-account pages: a practitioner changes their password.

The current password is asked for again (a browser left signed in is not enough), the new
one must pass accounts.check_new_password, and every other session of the account ends.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import g
from flask import render_template
from flask import request

from . import accounts
from . import repository
from .console_auth import check_csrf
from .console_auth import clinic_store
from .console_auth import console_globals
from .console_auth import current_practitioner
from .console_auth import limiter
from .console_auth import login_required
from .console_auth import no_store

bp = Blueprint("console_account", __name__)
bp.context_processor(console_globals)
bp.after_request(no_store)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def password():
    if request.method == "GET":
        return render_template("console/password.html")
    check_csrf()
    account = current_practitioner()
    form = request.form
    if not accounts.verify_password(account["password_hash"], form.get("current", "")):
        return _refused("Your current password is wrong. Nothing was changed.")
    if form.get("new", "") != form.get("again", ""):
        return _refused("The two new passwords do not match. Nothing was changed.")
    try:
        new = accounts.check_new_password(form.get("new", ""), account["email"])
    except accounts.AccountError as error:
        return _refused(f"{error}. Nothing was changed.".replace("..", "."))
    clinic = clinic_store()
    repository.set_password_hash(clinic, account["id"], accounts.hash_password(new))
    repository.end_console_sessions(clinic, account["id"], keep_sid_hash=g.sid_hash)
    return render_template("console/password.html", done=True)


def _refused(message: str):
    return render_template("console/password.html", error=message), 400
