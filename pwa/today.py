"""Blueprint "today": the home screen, where the day's aftercare checklist will live."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

from .learn import pages

bp = Blueprint("today", __name__)


@bp.get("/")
def index():
    return render_template("today/index.html", pages=pages())
