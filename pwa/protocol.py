"""Aftercare protocols: versioned TOML files expanded into a day-by-day schedule.

A protocol is data.  This module reads and checks the files (shipped ones in
pwa/protocols/, a clinic's in DATA_DIR/protocols/, which win by id), and
expands one into the schedule the device keeps offline: for each mode
(standard and PIH-risk) the pre-care days before a session, the items and
"can I use it today?" gates of day 0 to the end of the recovery run, the
"ongoing" days after it, the readiness questions and the warning signs.
Sources are ids in the registry (`sources`).  The checks include one of
meaning, not only of shape: while a gate is closed, the day's checklist must
hold the avoid item that stands for it.  The device only works out which day
it is.  No Flask here.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from . import sources as source_registry

SHIPPED_DIR = Path(__file__).resolve().parent / "protocols"
MODES = ("standard", "pih_risk")
# Where the person is needled: by a practitioner, or at home with their own pen.
SETTINGS = ("clinic", "home")
TIMES = ("morning", "evening", "any")
KINDS = ("do", "avoid", "watch")
ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_RECOVERY_DAYS = 60
# Pre-care items may start at most this many days before a session.
MAX_PRECARE_DAYS = 30
MAX_INTERVAL_DAYS = 365
# Used when a clinic's protocol has no [series] table: about 4 to 6 weeks.
DEFAULT_SERIES = {"interval_min_days": 28, "interval_max_days": 42}
# Resuming is never an instruction: every gate message carries this condition.
CONDITION = "if your skin is calm and your practitioner agrees"
# At home there is no practitioner to agree: the condition is the skin's.
HOME_CONDITION = "if your skin is calm"
NOT_REVIEWED = "Written from the sources listed; not yet reviewed by a clinician."


class ProtocolError(ValueError):
    """A protocol file cannot be used; the message names the file, line and field."""


def load_protocols(
    override_dir: Path | None = None, registry: source_registry.Registry | None = None
) -> dict[str, dict]:
    """Every protocol by id; a clinic file replaces the shipped one with the same id."""
    files = {path.stem: path for path in SHIPPED_DIR.glob("*.toml")}
    if override_dir is not None and override_dir.is_dir():
        files.update({path.stem: path for path in override_dir.glob("*.toml")})
    registry = source_registry.load_registry() if registry is None else registry
    return {name: parse_protocol(path, registry) for name, path in sorted(files.items())}


def parse_protocol(path: Path, registry: source_registry.Registry | None = None) -> dict:
    """Read and check one protocol file; its sources are registry ids (or its own tables)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{path}: not valid TOML ({error})") from None
    registry = source_registry.load_registry() if registry is None else registry
    try:
        return _checked(data, path.stem, registry)
    except _FieldError as error:
        line = _line_of(text, error.table, error.index, error.key)
        where = f"{path}, line {line}" if line else str(path)
        raise ProtocolError(f"{where}: {error.field}: {error.message}") from None


class _FieldError(Exception):
    def __init__(self, table: str, index: int | None, key: str, message: str):
        self.table, self.index, self.key, self.message = table, index, key, message
        if index is not None:
            self.field = f"{table}[{index}].{key}"
        else:
            self.field = f"{table}.{key}" if table else key


def _checked(data: dict, stem: str, registry: source_registry.Registry) -> dict:
    _require(data, "", None, "id", str)
    if data["id"] != stem:
        raise _FieldError("", None, "id", f"must match the file name ({stem!r})")
    _require(data, "", None, "version", int, minimum=1)
    _require(data, "", None, "title", str)
    _require(data, "", None, "recovery_days", int, minimum=1, maximum=MAX_RECOVERY_DAYS)
    if not isinstance(data.get("reviewed_by", ""), str):
        raise _FieldError("", None, "reviewed_by", "must be text")
    if data.get("reviewed_by") and not isinstance(data.get("reviewed_on"), date):
        raise _FieldError("", None, "reviewed_on", "a date is required when reviewed_by is set")
    sources = {key: source.as_json() for key, source in registry.items()}
    # A clinic's older protocol may still carry its own [[sources]] tables (key, name).
    for index, source in enumerate(_tables(data, "sources")):
        _require(source, "sources", index, "key", str)
        _require(source, "sources", index, "name", str)
        sources[source["key"]] = {"id": source["key"], "citation": source["name"], "link": ""}
    data["_sources"] = sources
    for index, item in enumerate(_tables(data, "items")):
        _check_entry(item, "items", index, sources, data["recovery_days"], is_gate=False)
    for index, gate in enumerate(_tables(data, "gates")):
        _check_entry(gate, "gates", index, sources, data["recovery_days"], is_gate=True)
    _check_unique(data)
    for index, gate in enumerate(data.get("gates", [])):
        _check_gate_covered(data, gate, index)
    for index, question in enumerate(_tables(data, "readiness")):
        _check_readiness(question, index, sources)
    _check_warning_signs(data.get("warning_signs"), sources)
    _check_series(data, sources)
    # Read on every sync: worked out once here.
    data["_precare_days"] = _precare_days(data)
    return data


def _check_series(data: dict, sources: dict) -> None:
    series = data.setdefault("series", {"source": None, **DEFAULT_SERIES})
    if not isinstance(series, dict):
        raise _FieldError("", None, "series", "must be a [series] table")
    _require(series, "series", None, "interval_min_days", int, minimum=1, maximum=MAX_INTERVAL_DAYS)
    _require(
        series,
        "series",
        None,
        "interval_max_days",
        int,
        minimum=series["interval_min_days"],
        maximum=MAX_INTERVAL_DAYS,
    )
    if series.get("source") is not None:
        _check_cited(series["source"], sources, "series", None, "source")


def _check_entry(entry, table, index, sources, recovery_days, is_gate) -> None:
    _require(entry, table, index, "id", str, pattern=ID)
    _require(entry, table, index, "name" if is_gate else "text", str)
    if not is_gate:
        _require(entry, table, index, "why", str)
        _require(entry, table, index, "time", str, choices=TIMES)
        _require(entry, table, index, "kind", str, choices=KINDS)
    earliest = 0 if is_gate else -MAX_PRECARE_DAYS
    for mode in MODES:
        merged = _in_mode(entry, mode)
        _require(merged, table, index, "from_day", int, minimum=earliest, maximum=recovery_days)
        if "to_day" in merged:
            _require(merged, table, index, "to_day", int, minimum=merged["from_day"])
        if merged["from_day"] < 0 and merged.get("to_day", 0) >= 0:
            raise _FieldError(table, index, "to_day", "a pre-care item must end by day -1")
        _check_cited(merged.get("source"), sources, table, index, "source")
    for name, choices in (("modes", MODES), ("settings", SETTINGS)):
        chosen = entry.get(name, list(choices))
        if not isinstance(chosen, list) or not chosen or not set(chosen) <= set(choices):
            raise _FieldError(table, index, name, f"must list some of {', '.join(choices)}")
    home = entry.get("home", {})
    if not isinstance(home, dict) or not set(home) <= {"text", "why", "source"}:
        raise _FieldError(table, index, "home", "may change only text, why and source")
    for key in ("text", "why"):
        if key in home:
            _require(home, table, index, key, str)
    if "source" in home:
        _check_cited(home["source"], sources, table, index, "source")


def _check_cited(source_id, sources, table, index, key) -> None:
    if source_id not in sources:
        raise _FieldError(
            table, index, key, f"{source_id!r} is not in the source registry (pwa/sources.toml)"
        )


def _check_gate_covered(data: dict, gate: dict, index: int) -> None:
    """While the gate is closed, every day's checklist holds the avoid item named for it."""
    items = {item["id"]: item for item in data.get("items", [])}
    closed_days = max(_in_mode(gate, mode)["from_day"] for mode in MODES)
    if closed_days == 0:
        return
    covering = items.get(gate.get("covered_by"))
    if covering is None or covering["kind"] != "avoid":
        raise _FieldError("gates", index, "covered_by", "must name an avoid item of this protocol")
    if set(covering.get("settings", SETTINGS)) != set(SETTINGS):
        raise _FieldError("gates", index, "covered_by", "the item must apply in every setting")
    for mode in MODES:
        if mode not in gate.get("modes", MODES):
            continue
        opens = _in_mode(gate, mode)["from_day"]
        item = _in_mode(covering, mode)
        in_mode = mode in covering.get("modes", MODES)
        first, last = item["from_day"], item.get("to_day", data["recovery_days"] + 1)
        if opens and not (in_mode and first <= 0 and last >= opens - 1):
            shown = f"days {first} to {last}" if in_mode else "no day"
            raise _FieldError(
                "gates",
                index,
                "covered_by",
                f"{gate['name']!r} stays closed until day {opens} in {mode} mode, "
                f"but {covering['id']!r} is on the checklist on {shown}",
            )


def _check_readiness(question: dict, index: int, sources: dict) -> None:
    _require(question, "readiness", index, "id", str, pattern=ID)
    for key in ("question", "clinic", "home"):
        _require(question, "readiness", index, key, str)
    _check_cited(question.get("source"), sources, "readiness", index, "source")


def _check_unique(data: dict) -> None:
    for table in ("items", "gates", "readiness"):
        seen = set()
        for index, entry in enumerate(data.get(table, [])):
            if entry["id"] in seen:
                raise _FieldError(table, index, "id", f"{entry['id']!r} is used twice")
            seen.add(entry["id"])


def _check_warning_signs(signs: Any, sources: dict) -> None:
    if not isinstance(signs, dict):
        raise _FieldError("", None, "warning_signs", "a [warning_signs] table is required")
    for key in ("normal", "call_today", "emergency"):
        value = signs.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise _FieldError("warning_signs", None, key, "must be a list of text")
    cited = signs.get("sources", [signs.get("source")])
    if not isinstance(cited, list) or not cited:
        raise _FieldError("warning_signs", None, "sources", "must list source ids")
    for source_id in cited:
        _check_cited(source_id, sources, "warning_signs", None, "sources")


def _tables(data: dict, key: str) -> list[dict]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _FieldError("", None, key, f"must be a list of [[{key}]] tables")
    return value


def _require(
    table_data, table, index, key, kind, *, minimum=None, maximum=None, pattern=None, choices=None
) -> None:
    value = table_data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _FieldError(table, index, key, f"is required, as {kind.__name__}")
    if kind is str and not value.strip():
        raise _FieldError(table, index, key, "must not be empty")
    if minimum is not None and value < minimum:
        raise _FieldError(table, index, key, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise _FieldError(table, index, key, f"must be at most {maximum}")
    if pattern is not None and not pattern.match(value):
        raise _FieldError(table, index, key, "use lower-case letters, digits and dashes")
    if choices is not None and value not in choices:
        raise _FieldError(table, index, key, f"must be one of {', '.join(choices)}")


def _line_of(text: str, table: str, index: int | None, key: str) -> int | None:
    """Line number of `key` inside the index-th [[table]] (or at the top level)."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    if table:
        headers = [
            n for n, line in enumerate(lines) if line.strip() in (f"[[{table}]]", f"[{table}]")
        ]
        if index is not None and index < len(headers):
            start = headers[index]
        elif index is None and headers:
            start = headers[0]
        following = [n for n, line in enumerate(lines) if n > start and line.startswith("[[")]
        end = following[0] if following else len(lines)
    for number in range(start, end):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[number]):
            return number + 1
    return start + 1 if table else None


def _in_mode(entry: dict, mode: str) -> dict:
    """The entry as it applies in `mode`: its own fields, then the mode's overrides."""
    merged = {k: v for k, v in entry.items() if k not in MODES}
    if mode != "standard" and isinstance(entry.get(mode), dict):
        merged.update(entry[mode])
    return merged


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
    return {key: {f: sources[key].get(f, "") for f in fields} for key in sorted(named - {None})}


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


def _precare_days(data: dict) -> int:
    starts = [_in_mode(item, mode)["from_day"] for item in data.get("items", []) for mode in MODES]
    return max([0, *(-day for day in starts)])


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
    return [_in_mode(e, mode) for e in entries if mode in e.get("modes", MODES)]


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
