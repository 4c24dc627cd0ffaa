"""A practitioner's clients as the console pages use them.

`own_client` answers 404 for any plan the signed-in practitioner did not make (as if it
did not exist), and forgets a client record whose plan was deleted from the phone;
`client_row` gathers what the list and the client's page show of one client.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import abort
from flask import current_app

from ..care import adherence
from ..care import readiness
from ..care import series
from ..care.days import local_day
from ..sync import devices
from . import phones
from .console_auth import clinic_store
from .console_auth import current_practitioner
from .console_auth import now_ms

CLINIC_DEVICE = devices.CLINIC_DEVICE


def own_client(plan_id: str) -> dict:
    """The client record if the signed-in practitioner made it; otherwise the same 404."""
    practitioner = current_practitioner()
    for found in clinic_store().clients_of(practitioner["id"]):
        if found["plan_id"] == plan_id:
            if not plan_store().plan_exists(plan_id):
                # Deleted from the client's phone (or by retention): forget the record too.
                clinic_store().remove_client(plan_id)
                break
            return found
    abort(404)


def client_row(found: dict) -> dict | None:
    """The client with their plan, sessions, progress and phones; None if the plan went."""
    store, plan_id = plan_store(), found["plan_id"]
    plan = store.get_plan(plan_id)
    if plan is None:
        return None
    sessions = series.build(plan, store.session_events(plan_id))
    today = local_day(datetime.now(UTC), plan["time_zone"], plan["day_start_hour"])
    schedule = current_app.extensions["schedules"][plan["protocol"]["id"]]
    ticks = store.tick_state(plan_id)
    linked = [d for d in store.list_devices(plan_id) if d["device"] != CLINIC_DEVICE]
    seen = [d["last_seen_ms"] for d in linked if not d["revoked"]]
    upcoming = [s for s in sessions if s["status"] == "planned" and s["day"] >= today.isoformat()]
    for planned in upcoming:
        planned["readiness"] = readiness.session_readiness(planned["day"], ticks, schedule)
    return {
        **found,
        "plan": plan,
        "sessions": sessions,
        "total": series.total_sessions(plan, sessions),
        "progress": adherence.run_progress(
            plan, sessions, ticks, schedule, today, adherence.started_day(plan, linked)
        ),
        "last_sync_ms": max(seen) if seen else None,
        "devices": phones.described(linked, clinic_zone(), now_ms()),
        "next_session": upcoming[0] if upcoming else None,
    }


def clinic_zone() -> str:
    return current_app.config["CLINIC_TIME_ZONE"]


def plan_store():
    return current_app.extensions["plans"]


def protocols() -> dict[str, dict]:
    return current_app.extensions["protocols"]
