"""Blueprint "settings": reminders, other devices, your data, and who reviewed the content."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template

bp = Blueprint("settings", __name__)


@bp.get("/")
def index():
    config = current_app.config
    quiet = (config["QUIET_HOURS_START"], config["QUIET_HOURS_END"])
    # Without a contact the server sends no push (api.push_key): then the page says so
    # in one line and shows no form that could only fail.
    push_on = bool(config["PUSH_CONTACT"])
    return render_template("settings/index.html", quiet_hours=quiet, push_on=push_on)


@bp.get("/join")
def join():
    # The join token is in the URL fragment, which never reaches the server;
    # static/js/components/join.js reads it and redeems it on the user's tap.
    return render_template("settings/join.html")


@bp.get("/invite")
def invite():
    # An invitation from the clinic: its code is in the URL fragment (like a
    # device link) and only the Start tap redeems it, in join.js.
    return render_template("settings/invite.html")
