"""Blueprint "sessions": the treatment series page and its private calendar feed.

The page is the same for everyone (precached); the series lives on the
device.  The feed is the one server-made page here: a calendar app fetches
it with the plan's feed key, which only the feed's link carries, and every
wrong or revoked key gets the same 404.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template
from flask import request

from ..care import series
from ..reminders import calendar_feed
from ..sync import devices

bp = Blueprint("sessions", __name__)


@bp.get("/")
def index():
    return render_template("sessions/index.html")


@bp.get("/calendar.ics")
def feed():
    # The key is in the query string, which the access log leaves out (gunicorn.conf.py).
    plan_id, key = request.args.get("plan", ""), request.args.get("key", "")
    store = current_app.extensions["plans"]
    link = store.calendar_link(plan_id, devices.digest(key)) if key.isascii() else None
    plan = store.get_plan(plan_id) if link else None
    if plan is None:
        abort(404)
    body = calendar_feed.build_feed(
        plan=plan,
        sessions=series.build(plan, store.session_events(plan_id)),
        schedule=current_app.extensions["schedules"][plan["protocol"]["id"]],
        # Stable per plan, and not the plan id itself, which calendar servers would keep.
        feed_key=hashlib.sha256(f"feed:{plan_id}".encode()).hexdigest()[:16],
        now=datetime.now(UTC),
        explicit_titles=link["explicit_titles"],
        alarm_minutes=tuple(current_app.config["CALENDAR_ALARM_MINUTES"]),
    )
    response = current_app.response_class(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="aftercare.ics"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response
