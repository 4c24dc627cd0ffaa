"""What a device may tell the server about a plan, checked before anything is stored.

A plan is created on the phone (onboarding works offline) and registered
with the server later; these functions check that registration and check
that events fit the plan: a tick's day inside the plan and an item the
plan's protocol knows, a session edit that keeps the series sensible.
Error messages name the field.  No Flask, no storage here.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from . import merge
from . import protocol
from . import series
from .days import local_day

SKIN_TYPES = ("I", "II", "III", "IV", "V", "VI", "not-sure")
PIH_HISTORY = ("yes", "no", "not-sure")
CREDENTIAL = re.compile(r"[A-Za-z0-9_-]{22,128}")
PLAN_FIELDS = {
    "time_zone",
    "day_start_hour",
    "sessions",
    "next_session",
    "planned_sessions",
    "skin_type",
    "pih_history",
    "mode",
    "protocol",
}
# A phone made before `setting` existed sends none; that means "clinic", and such a
# phone must still register (a refusal would block its sync for good).  Someone who
# needles at home may set up before her first session: `starts_planned` says the
# plan's one session is still to come.
OPTIONAL_PLAN_FIELDS = {"setting": "clinic", "starts_planned": False}
# Sessions a plan may list, or plan for, when it is set up (series.MAX_SESSIONS_EVER
# bounds every session it ever holds, counting those added and removed later).
MAX_PLANNED_SESSIONS = 50
# A phone's clock and the server's may disagree by a day at the edges of a day.
DAY_SLACK = timedelta(days=1)


class PlanError(ValueError):
    """The request does not describe a usable plan; the message names the field."""


def check_credential(value: Any, field: str) -> str:
    """A device credential or join token: at least 128 bits of base64url text."""
    if not isinstance(value, str) or not CREDENTIAL.fullmatch(value):
        raise PlanError(f"{field}: must be 22 to 128 characters of A-Z a-z 0-9 _ -")
    return value


def check_plan(raw: Any, protocols: dict[str, dict]) -> dict:
    """The plan fields a device sends when it registers a plan, checked and normalised."""
    if not isinstance(raw, dict):
        raise PlanError("plan: must be an object")
    missing = PLAN_FIELDS - set(raw)
    extra = set(raw) - PLAN_FIELDS - set(OPTIONAL_PLAN_FIELDS)
    if missing or extra:
        raise PlanError(
            f"plan: missing {sorted(missing)}" if missing else f"plan: unknown {sorted(extra)}"
        )
    _time_zone(raw["time_zone"])
    _whole(raw["day_start_hour"], "plan.day_start_hour", 0, 6)
    sessions = _sessions(raw["sessions"])
    if raw["next_session"] is not None and _date(
        raw["next_session"], "plan.next_session"
    ) <= date.fromisoformat(sessions[-1]["day"]):
        raise PlanError("plan.next_session: must come after the latest session")
    _whole(raw["planned_sessions"], "plan.planned_sessions", 1, MAX_PLANNED_SESSIONS)
    _choice(raw["skin_type"], "plan.skin_type", SKIN_TYPES)
    _choice(raw["pih_history"], "plan.pih_history", PIH_HISTORY)
    _choice(raw.get("setting", "clinic"), "plan.setting", protocol.SETTINGS)
    if raw.get("starts_planned", False) not in (True, False):
        raise PlanError("plan.starts_planned: must be true or false")
    if raw.get("starts_planned") and len(sessions) != 1:
        raise PlanError("plan.starts_planned: only a plan with one session can start before it")
    expected = (
        "standard"
        if protocol.standard_mode_allowed(raw["skin_type"], raw["pih_history"])
        else "pih_risk"
    )
    # The stricter PIH-risk mode is always allowed (a practitioner may choose it);
    # standard mode only where the rule says the skin type and history allow it.
    if raw["mode"] not in (expected, "pih_risk"):
        raise PlanError(f"plan.mode: must be {expected!r} for this skin type and history")
    _protocol(raw["protocol"], protocols)
    return with_defaults(raw)


def with_defaults(plan: dict) -> dict:
    """The plan with every optional field it leaves out at its default.

    The API answers with this, so a plan stored before a field existed (never
    rewritten) still comes back complete.
    """
    return {**OPTIONAL_PLAN_FIELDS, **plan}


def check_events_fit(
    plan: dict,
    events: list[dict],
    protocols: dict[str, dict],
    now: datetime,
    stored_sessions: list[dict] = (),
) -> None:
    """Session edits fit the series, and every tick's day lies within the plan
    (its first done session to today) and names an item the protocol knows."""
    today = local_day(now, plan["time_zone"], plan["day_start_hour"])
    try:
        series.check_session_events_fit(plan, list(stored_sessions), events, today)
    except series.SeriesError as error:
        raise PlanError(str(error)) from None
    # Pre-care ticks belong to the days before the first session.
    lead = timedelta(days=protocol.precare_days(protocols[plan["protocol"]["id"]]))
    first = series.first_done_day(plan, [*stored_sessions, *events]) - lead
    items = known_items(protocols[plan["protocol"]["id"]])
    for index, event in enumerate(events):
        if merge.is_session_event(event):
            continue
        day = date.fromisoformat(event["day"])
        if not first <= day <= today + DAY_SLACK:
            raise PlanError(
                f"events[{index}].day: must be between the pre-care before the first session "
                "and today"
            )
        if event["item"] not in items:
            raise PlanError(f"events[{index}].item: not an item of this plan's protocol")


def fitting_events(
    plan: dict,
    events: merge.Batch,
    protocols: dict[str, dict],
    now: datetime,
    stored_sessions: list[dict] = (),
) -> tuple[merge.Batch, list[dict]]:
    """The events that fit the plan, and [{"id", "message"}] for those set aside.

    One event that does not fit (a date typed wrong, a clock that ran ahead) must not
    stop the rest from syncing, or the phone would resend the batch for ever.  Session
    edits are weighed first, each against the ones kept before it, so a batch may still
    log an earlier session and tick its days.
    """
    try:
        check_events_fit(plan, events, protocols, now, stored_sessions)
        return events, []
    except PlanError:
        pass  # look at each event on its own
    order = sorted(range(len(events)), key=lambda i: not merge.is_session_event(events[i]))
    kept_sessions: list[dict] = []
    kept, set_aside = set(), []
    for index in order:
        event = events[index]
        try:
            check_events_fit(plan, [event], protocols, now, [*stored_sessions, *kept_sessions])
        except PlanError as error:
            message = str(error).replace("events[0]", f"events[{index}]", 1)
            set_aside.append({"id": event["id"], "message": message})
            continue
        kept.add(index)
        if merge.is_session_event(event):
            kept_sessions.append(event)
    return events.only(kept), set_aside


def known_items(chosen: dict) -> set[str]:
    """Item ids of a protocol in any mode, and the ids its readiness answers travel under."""
    return {item["id"] for item in chosen["items"]} | protocol.readiness_ids(chosen)


def _time_zone(value: Any) -> None:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise PlanError("plan.time_zone: must be an IANA time zone such as Europe/London")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlanError(f"plan.time_zone: unknown time zone {value!r}") from None


def _sessions(value: Any) -> list[dict]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PLANNED_SESSIONS:
        raise PlanError(f"plan.sessions: must list 1 to {MAX_PLANNED_SESSIONS} sessions")
    previous = None
    for index, session in enumerate(value):
        where = f"plan.sessions[{index}]"
        if not isinstance(session, dict) or set(session) != {"day", "number"}:
            raise PlanError(f"{where}: must have exactly 'day' and 'number'")
        day = _date(session["day"], f"{where}.day")
        _whole(session["number"], f"{where}.number", 1, MAX_PLANNED_SESSIONS)
        if previous is not None and day <= previous:
            raise PlanError(f"{where}.day: sessions must be in date order")
        previous = day
    return value


def _protocol(value: Any, protocols: dict[str, dict]) -> None:
    if not isinstance(value, dict) or set(value) != {"id", "version"}:
        raise PlanError("plan.protocol: must have exactly 'id' and 'version'")
    if value["id"] not in protocols:
        raise PlanError(f"plan.protocol.id: unknown protocol {value['id']!r}")
    _whole(value["version"], "plan.protocol.version", 1, protocols[value["id"]]["version"])


def _date(value: Any, field: str) -> date:
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise PlanError(f"{field}: must be a date YYYY-MM-DD")


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise PlanError(f"{field}: must be a whole number from {low} to {high}")
    return value


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PlanError(f"{field}: must be one of {', '.join(choices)}")
    return value


def clinic_plan(answers: dict, time_zone: str, protocol_id: str, protocols: dict) -> dict:
    """A plan from the console's form (strings), in the wire shape, checked like a phone's.

    The form may choose another protocol (`protocol`) and the PIH-risk mode for anyone
    (`pih_risk_mode`); the standard mode still needs a skin type and history that allow it.
    """
    protocol_id = answers.get("protocol") or protocol_id
    if protocol_id not in protocols:
        raise PlanError(f"plan.protocol.id: unknown protocol {protocol_id!r}")
    try:
        number = int(answers.get("session_number", ""))
        planned = int(answers.get("planned_sessions", ""))
    except ValueError:
        raise PlanError("plan.sessions: session numbers must be whole numbers") from None
    skin, history = answers.get("skin_type", ""), answers.get("pih_history", "")
    plan = {
        "time_zone": time_zone,
        "day_start_hour": 3,
        "sessions": [{"day": answers.get("last_session", ""), "number": number}],
        "next_session": answers.get("next_session") or None,
        "planned_sessions": planned,
        "skin_type": skin,
        "pih_history": history,
        "setting": "clinic",
        "mode": "standard"
        if protocol.standard_mode_allowed(skin, history) and not answers.get("pih_risk_mode")
        else "pih_risk",
        "protocol": {"id": protocol_id, "version": protocols[protocol_id]["version"]},
    }
    return check_plan(plan, protocols)
