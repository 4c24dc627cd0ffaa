"""Blueprint "settings": what this copy of the app is, who reviewed it, and (later) preferences."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

bp = Blueprint("settings", __name__)


@bp.get("/")
def index():
    return render_template("settings/index.html")


@bp.get("/join")
def join():
    # The join token is in the URL fragment, which never reaches the server;
    # static/js/components/join.js reads it and redeems it on the user's tap.
    return render_template("settings/join.html")
