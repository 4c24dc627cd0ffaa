"""Reading and checking one protocol file: TOML in, a checked dict out.

Owns the file format (pwa/care/protocols/*.toml): which tables and fields exist, their
types and bounds, source ids that must be in the registry, and one check of
meaning — while a gate is closed, the avoid item named for it is on the
checklist that day, in every mode.  A refusal names the file, line and field.
`protocol` expands a checked file into the schedule a device keeps.  No Flask.
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


class ProtocolError(ValueError):
    """A protocol file cannot be used; the message names the file, line and field."""


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
        merged = in_mode(entry, mode)
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
            table,
            index,
            key,
            f"{source_id!r} is not in the source registry (pwa/care/sources.toml)",
        )


def _check_gate_covered(data: dict, gate: dict, index: int) -> None:
    """While the gate is closed, every day's checklist holds the avoid item named for it."""
    items = {item["id"]: item for item in data.get("items", [])}
    closed_days = max(in_mode(gate, mode)["from_day"] for mode in MODES)
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
        opens = in_mode(gate, mode)["from_day"]
        item = in_mode(covering, mode)
        listed = mode in covering.get("modes", MODES)
        first, last = item["from_day"], item.get("to_day", data["recovery_days"] + 1)
        if opens and not (listed and first <= 0 and last >= opens - 1):
            shown = f"days {first} to {last}" if listed else "no day"
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


def in_mode(entry: dict, mode: str) -> dict:
    """The entry as it applies in `mode`: its own fields, then the mode's overrides."""
    merged = {k: v for k, v in entry.items() if k not in MODES}
    if mode != "standard" and isinstance(entry.get(mode), dict):
        merged.update(entry[mode])
    return merged


def _precare_days(data: dict) -> int:
    starts = [in_mode(item, mode)["from_day"] for item in data.get("items", []) for mode in MODES]
    return max([0, *(-day for day in starts)])
