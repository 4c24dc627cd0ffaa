"""Blueprint "settings": what this copy of the app is, who reviewed it, and (later) preferences."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

bp = Blueprint("settings", __name__)


@bp.get("/")
def index():
    return render_template("settings/index.html")
