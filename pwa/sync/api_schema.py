"""The API's OpenAPI description and the request-body check made with it.

This module owns `pwa/sync/openapi.json`, the one description of the JSON API: it loads
it once, finds the request-body schema of the operation a request was routed to,
and checks a body against it (JSON Schema Draft 2020-12).  Two validators read the
same schema: `jsonschema_rs` (compiled, a few microseconds) answers the common case,
a valid body; only a body it refuses goes to `jsonschema`, whose errors carry the
path and the oneOf branch that the message needs.  tests/test_openapi.py checks the
two agree on generated bodies.
The description is the contract for clients and the schema the server enforces, so
the two cannot drift apart; tests/test_openapi.py keeps its paths equal to the
app's routes.

The schemas say the shape: required fields, types, patterns, lengths, bounds, and
no field beyond those listed.  What they cannot say stays with the Python checks
that run after them (`plans`, `merge`, `series`, `push`, `reminders`): a real
calendar date, a tick's day inside the plan, a known protocol item, an
allow-listed push host.

A refused body raises `RequestInvalid`, a `plans.PlanError`, so the app's existing
handler answers 400 `{"error": "invalid", "message": ...}`.  The message starts
with the field path, in the wording the Python checks use: `events[3].ts: must be
a whole number from 0 to 2**53 - 1`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema import ValidationError
from jsonschema import validators

from ..care.plans import PlanError

DESCRIPTION_PATH = Path(__file__).with_name("openapi.json")
_JSON = "application/json"
# Where the Python checks name the object rather than the field for an unknown
# field ("plan: unknown ['x']"); clients and tests match that wording.
_UNKNOWN_LISTED_ON_OBJECT = {"plan", "prefs"}
# A message quotes at most this many unknown field names, each at most this long.
_NAMES_LISTED = 5
_NAME_LIMIT = 40
_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class RequestInvalid(PlanError):
    """A request body that breaks its operation's schema; the message names the field path."""


@functools.cache
def description() -> dict[str, Any]:
    """The OpenAPI description, read once (callers must not change it)."""
    return json.loads(DESCRIPTION_PATH.read_text(encoding="utf-8"))


def openapi_path(flask_rule: str) -> str:
    """The OpenAPI path of a Flask rule: /api/plans/<plan_id>/sync -> /api/plans/{plan_id}/sync."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", flask_rule)


def check_body(flask_rule: str, method: str, body: Any) -> None:
    """Raise RequestInvalid unless `body` fits the operation's request-body schema.

    Raises LookupError if the description gives the operation no JSON body: a view
    that reads a body must have it described.
    """
    path, method = openapi_path(flask_rule), method.lower()
    if _passes_quick_check(path, method, body):
        return
    validator = _validator(path, method)
    # The first error is enough (and stops early on a huge hostile body).  Keywords
    # are listed in each schema in the order the Python checks look at them.
    error = next(validator.iter_errors(body), None)
    if error is not None:
        raise RequestInvalid(_message(_deciding(error)))


def _passes_quick_check(path: str, method: str, body: Any) -> bool:
    """True when the compiled validator accepts `body` and its verdict is the same as jsonschema's.

    JSON Schema counts 2.0 as an integer and the API does not (nor does the
    description use any non-integer number), so a body holding a float is left to
    jsonschema with its stricter integer type.
    """
    try:
        return _quick_validator(path, method).is_valid(body) and not _holds_float(body)
    except ValueError:  # a value the compiled validator cannot convert
        return False


def _holds_float(value: Any) -> bool:
    waiting = [value]
    while waiting:
        item = waiting.pop()
        if isinstance(item, dict):
            waiting.extend(item.values())
        elif isinstance(item, list):
            waiting.extend(item)
        elif isinstance(item, float):
            return True
    return False


@functools.cache
def _request_schema(path: str, method: str) -> dict[str, Any]:
    operation = description()["paths"][path][method]
    content = operation.get("requestBody", {}).get("content", {})
    if _JSON not in content:
        raise LookupError(f"{method.upper()} {path} has no JSON request body in openapi.json")
    # References are replaced by what they point to once, here: resolving them on
    # every event of a 200-event batch would cost more than everything else.
    return inlined(content[_JSON]["schema"])


@functools.cache
def _validator(path: str, method: str) -> Draft202012Validator:
    return _Validator(_request_schema(path, method))


@functools.cache
def _quick_validator(path: str, method: str) -> jsonschema_rs.Draft202012Validator:
    # "format" stays an annotation, as it is for jsonschema without a format checker.
    return jsonschema_rs.Draft202012Validator(_request_schema(path, method), validate_formats=False)


def inlined(node: Any) -> Any:
    """`node` with every local `$ref` replaced by its target (the description has no cycles)."""
    if isinstance(node, list):
        return [inlined(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = description()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return inlined(target)
    return {key: inlined(value) for key, value in node.items()}


def _is_integer(checker, instance: Any) -> bool:
    # As in the Python checks, 1.0 is not a whole number (JSON Schema's "integer" allows it).
    return type(instance) is int


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # ECMA-262's `$` (what the description's readers and generators use) matches only
    # at the very end; Python's also matches before a final newline, so say \Z.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern: str, instance: Any, schema: dict) -> Iterable[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"does not match {pattern!r}")


_Validator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _deciding(error: ValidationError) -> ValidationError:
    """The error to report: inside a oneOf, the branch the value comes closest to."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        # Fewest errors wins; on a tie, the first branch (a tick before a session edit).
        error = min(branches.values(), key=len)[0]
    return error


def _message(error: ValidationError) -> str:
    path = _path(error.absolute_path)
    schema, keyword, instance = error.schema, error.validator, error.instance
    if keyword == "required":
        missing = next(name for name in error.validator_value if name not in instance)
        return f"{_join(path, missing)}: is required"
    if keyword == "additionalProperties":
        known = schema.get("properties", {})
        unknown = sorted(_quote(name) for name in instance if name not in known)
        if path in _UNKNOWN_LISTED_ON_OBJECT:
            return f"{path}: unknown {unknown[:_NAMES_LISTED]}"
        return f"{_join(path, unknown[0])}: unknown field"
    where = path or "body"
    # Every leaf schema describes its values ("a date YYYY-MM-DD"): tests/test_openapi.py.
    if isinstance(schema, dict) and "description" in schema and "object" not in _types(schema):
        return f"{where}: must be {schema['description']}"
    if keyword == "type":
        return f"{where}: must be {' or '.join(_TYPE_WORDS[t] for t in _types(schema))}"
    if keyword == "maxItems":
        return f"{where}: must hold at most {error.validator_value} items"
    if keyword == "minItems":
        return f"{where}: must hold at least {error.validator_value} items"
    return f"{where}: {error.message}"


def _types(schema: dict) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else _join(text, part)
    return text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _quote(name: str) -> str:
    return name if len(name) <= _NAME_LIMIT else name[:_NAME_LIMIT] + "…"
