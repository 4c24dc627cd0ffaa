"""Blueprint "today": the home screen with the day's aftercare, and the protocol schedule.

The page itself is the same for everyone (the service worker precaches it);
the plan, the day number and the ticks live on the device and are filled in
by static/js/components/today.js.  /protocol.json is the expanded schedule of
the protocol new plans start with, which the device keeps offline.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import render_template

from ..care import protocol
from ..core.config import ConfigError
from .learn import pages
from .learn import skin_swatches

bp = Blueprint("today", __name__)


def init_app(app: Flask) -> None:
    """Load and check every protocol once, so a broken file fails at start-up."""
    protocols = protocol.load_protocols(app.config["DATA_DIR"] / "protocols")
    if app.config["PROTOCOL"] not in protocols:
        known = ", ".join(sorted(protocols))
        raise ConfigError(f"PROTOCOL: no protocol {app.config['PROTOCOL']!r} (known: {known})")
    app.extensions["protocols"] = protocols
    # Protocols and reviewer only change with a restart: expand once, not per request.
    config = app.config
    app.extensions["schedules"] = {
        name: protocol.expand(chosen, config["CONTENT_REVIEWER"], config["CONTENT_REVIEWED_ON"])
        for name, chosen in protocols.items()
    }
    app.extensions["schedule"] = app.extensions["schedules"][config["PROTOCOL"]]


def current_schedule() -> dict:
    """The expanded schedule of the configured protocol."""
    return current_app.extensions["schedule"]


@bp.get("/")
def index():
    return render_template(
        "today/index.html", pages=pages(), schedule=current_schedule(), swatches=skin_swatches()
    )


@bp.get("/protocol.json")
def schedule():
    response = current_app.json.response(current_schedule())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/protocols/<protocol_id>.json")
def protocol_schedule(protocol_id: str):
    """Any protocol's schedule, for a phone joining a plan a clinic made with another one."""
    chosen = current_app.extensions["schedules"].get(protocol_id)
    if chosen is None:
        abort(404)
    response = current_app.json.response(chosen)
    response.headers["Cache-Control"] = "no-cache"
    return response
