"""Blueprint "sessions": the treatment series and its reminders (filled in by a later issue)."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

bp = Blueprint("sessions", __name__)


@bp.get("/")
def index():
    return render_template("sessions/index.html")
