"""Aftercare protocols: versioned TOML files expanded into a day-by-day schedule.

A protocol is data.  This module finds the files (shipped ones in
pwa/care/protocols/, a clinic's in DATA_DIR/protocols/, which win by id), has
`protocol_file` read and check each, and expands one into the schedule the
device keeps offline: for each mode
(standard and PIH-risk) the pre-care days before a session, the items and
"can I use it today?" gates of day 0 to the end of the recovery run, the
"ongoing" days after it, the readiness questions and the warning signs.
Sources are ids in the registry (`sources`).  The device only works out
which day it is.  No Flask here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from . import sources as source_registry
from .protocol_file import MODES
from .protocol_file import SETTINGS
from .protocol_file import SHIPPED_DIR
from .protocol_file import ProtocolError  # noqa: F401  (callers catch it from here)
from .protocol_file import in_mode
from .protocol_file import parse_protocol

# Resuming is never an instruction: every gate message carries this condition.
CONDITION = "if your skin is calm and your practitioner agrees"
# At home there is no practitioner to agree: the condition is the skin's.
HOME_CONDITION = "if your skin is calm"
NOT_REVIEWED = "Written from the sources listed; not yet reviewed by a clinician."


def load_protocols(
    override_dir: Path | None = None, registry: source_registry.Registry | None = None
) -> dict[str, dict]:
    """Every protocol by id; a clinic file replaces the shipped one with the same id."""
    files = {path.stem: path for path in SHIPPED_DIR.glob("*.toml")}
    if override_dir is not None and override_dir.is_dir():
        files.update({path.stem: path for path in override_dir.glob("*.toml")})
    registry = source_registry.load_registry() if registry is None else registry
    return {name: parse_protocol(path, registry) for name, path in sorted(files.items())}


def standard_mode_allowed(skin_type: str, pih_history: str) -> bool:
    """Standard mode only for skin types I-II with no history of PIH; anything else,
    "not sure" included, gets the stricter PIH-risk mode."""
    return skin_type in STANDARD_SKIN_TYPES and pih_history == "no"


STANDARD_SKIN_TYPES = ("I", "II")


def expand(protocol: dict, reviewer: str = "", reviewed_on: date | None = None) -> dict:
    """The schedule a device keeps offline: every day of the run, both modes, as JSON data.

    Items, questions and signs name sources by id; `sources` holds each cited one once
    ({"id", "citation", "link", "kind", "read_on"}).  Items that differ at home
    carry a "home" object with the home wording, and "settings" when they apply to
    one setting only; the device picks by the plan's setting.
    """
    sources = protocol["_sources"]
    last_day = protocol["recovery_days"]
    signs = protocol["warning_signs"]
    schedule = {
        "protocol": {"id": protocol["id"], "version": protocol["version"]},
        "title": protocol["title"],
        "review": _review_line(protocol, reviewer, reviewed_on),
        "recovery_days": last_day,
        "standard_mode_for": {"skin_types": list(STANDARD_SKIN_TYPES), "pih_history": ["no"]},
        "condition": {"clinic": CONDITION, "home": HOME_CONDITION},
        "warning_signs": {
            **{k: signs[k] for k in ("normal", "call_today", "emergency")},
            "sources": list(signs.get("sources", [signs.get("source")])),
        },
        "readiness": [_question(q) for q in protocol.get("readiness", [])],
        "series": {
            "interval_min_days": protocol["series"]["interval_min_days"],
            "interval_max_days": protocol["series"]["interval_max_days"],
            "source": protocol["series"]["source"],
        },
        "modes": {},
    }
    for mode in MODES:
        items = _entries(protocol["items"], mode)
        gates = _entries(protocol["gates"], mode)
        precare = min([i["from_day"] for i in items] + [0])
        schedule["modes"][mode] = {
            # Items once, by id; each day lists the ids that apply, in protocol order.
            "items": {item["id"]: _item(item) for item in items},
            # Pre-care: the days before a planned session, nearest first (-1, -2, ...).
            "before": [_day(day, items, []) for day in range(-1, precare - 1, -1)],
            "days": [_day(day, items, gates) for day in range(last_day + 1)],
            "ongoing": {
                "items": [i["id"] for i in items if "to_day" not in i],
                "gates": [_gate(g, last_day + 1) for g in gates],
            },
        }
    schedule["sources"] = _cited(schedule, sources)
    return schedule


def _cited(schedule: dict, sources: dict) -> dict:
    """Every source the schedule names, once, with what a reader needs to find it."""
    named = set(schedule["warning_signs"]["sources"]) | {schedule["series"]["source"]}
    named |= {q["source"] for q in schedule["readiness"]}
    for mode in schedule["modes"].values():
        for item in mode["items"].values():
            named |= {item["source"], item.get("home", {}).get("source")}
    fields = ("id", "citation", "link", "kind", "read_on")
    return {
        key: {**{f: sources[key].get(f, "") for f in fields}, "short": _short(sources[key])}
        for key in sorted(named - {None})
    }


def _short(source: dict) -> str:
    return source_registry.short_name(source["citation"])


def day_items(schedule: dict, plan: dict, day_number: int) -> list[str]:
    """Ids of the items of one day of the recovery run (0 to recovery_days) in the plan's
    mode and setting: an item meant only for the other setting is not the plan's to tick."""
    mode = schedule["modes"][plan["mode"]]
    setting = plan.get("setting", "clinic")
    return [
        item
        for item in mode["days"][day_number]["items"]
        if setting in mode["items"][item].get("settings", SETTINGS)
    ]


def precare_days(chosen: dict) -> int:
    """How many days before a session the protocol's earliest pre-care item starts."""
    return chosen["_precare_days"]


def readiness_ids(chosen: dict) -> set[str]:
    """The ids under which a device records readiness answers (see `_question`)."""
    return {READINESS_PREFIX + q["id"] for q in chosen.get("readiness", [])}


# A readiness answer travels as a tick of this id on the session's day (done = "yes").
READINESS_PREFIX = "ready-"


def _question(question: dict) -> dict:
    return {
        "id": question["id"],
        "answer_id": READINESS_PREFIX + question["id"],
        "question": question["question"],
        "clinic": question["clinic"],
        "home": question["home"],
        "source": question["source"],
    }


def _entries(entries: list[dict], mode: str) -> list[dict]:
    return [in_mode(e, mode) for e in entries if mode in e.get("modes", MODES)]


def _day(day: int, items: list[dict], gates: list[dict]) -> dict:
    applies = [i["id"] for i in items if i["from_day"] <= day <= i.get("to_day", max(day, 0))]
    return {"day": day, "items": applies, "gates": [_gate(g, day) for g in gates]}


def _item(item: dict) -> dict:
    fields = ("id", "text", "why", "time", "kind", "source")
    expanded = {k: item[k] for k in fields}
    if "home" in item:
        expanded["home"] = dict(item["home"])
    if set(item.get("settings", SETTINGS)) != set(SETTINGS):
        expanded["settings"] = list(item["settings"])
    return expanded


def _gate(gate: dict, day: int) -> dict:
    days_left = max(0, gate["from_day"] - day)
    return {
        "id": gate["id"],
        "name": gate["name"],
        "from_day": gate["from_day"],
        "days_left": days_left,
        "message": gate_message(gate["name"], gate["from_day"], days_left),
    }


def gate_message(name: str, from_day: int, days_left: int, condition: str = CONDITION) -> str:
    """'Retinoids: from day 7 - 5 more days, if ...': always conditional, never "start"."""
    if days_left == 0:
        return f"{name}: may be OK again from day {from_day}, {condition}."
    more = "1 more day" if days_left == 1 else f"{days_left} more days"
    return f"{name}: from day {from_day} — {more}, {condition}."


def condition_for(plan: dict) -> str:
    """The condition every "may be OK again" carries, in the plan's setting."""
    return HOME_CONDITION if plan.get("setting") == "home" else CONDITION


def _review_line(protocol: dict, reviewer: str, reviewed_on: date | None) -> str:
    if protocol.get("reviewed_by"):
        return f"Reviewed by {protocol['reviewed_by']} on {protocol['reviewed_on']:%-d %B %Y}."
    if reviewer and reviewed_on:
        return f"Reviewed by {reviewer} on {reviewed_on:%-d %B %Y}."
    return NOT_REVIEWED
