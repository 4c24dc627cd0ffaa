"""pwa/sync/openapi.json against the app: the same operations as the routes, strict schemas, and
a server that refuses every broken constraint and accepts every documented example.

The description is the schema the server validates request bodies with (pwa/sync/api_schema.py),
so these tests keep it from drifting into a permissive stub: every object is closed and says
what it requires, every string, number and list is bounded, and for each constraint of each
request body the server answers a body that breaks it (and only it, starting from a
documented example) with a 400 naming the field, and stores nothing.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from schemathesis.specs.openapi.definitions import OPENAPI_31
from support import GENEROUS_LIMITS

from pwa import create_app
from pwa.care.days import local_day
from pwa.clinic import accounts
from pwa.core import rate_limits
from pwa.sync import api_schema
from pwa.sync import devices

SPEC = api_schema.description()
METHODS = ("get", "put", "post", "delete", "patch")
CONTACT = "mailto:reminders@harbour-skin.co.uk"
# The examples' dates were written on this day; the tests move them by the days since, so
# "a tick on the day after the first session" stays inside the 3-years-back window.
EXAMPLES_WRITTEN = date(2026, 11, 26)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- helpers shared with test_hostile_input.py ------------------------------------


def operations() -> list[tuple[str, str]]:
    """(path, method) of every described operation, in the description's order."""
    return [(path, m) for path, item in SPEC["paths"].items() for m in METHODS if m in item]


def resolve(node):
    """A schema (or parameter, response) with its top-level `$ref` followed."""
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def request_schema(path: str, method: str) -> dict | None:
    content = SPEC["paths"][path][method].get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def examples(path: str, method: str) -> dict[str, object]:
    content = SPEC["paths"][path][method].get("requestBody", {}).get("content", {})
    found = content.get("application/json", {}).get("examples", {})
    return {name: shifted(resolve(example)["value"]) for name, example in found.items()}


def shifted(value):
    """`value` with every YYYY-MM-DD date moved by the days since the examples were written."""
    offset = local_day(datetime.now(UTC), "Europe/London") - EXAMPLES_WRITTEN
    if isinstance(value, dict):
        return {key: shifted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shifted(item) for item in value]
    if isinstance(value, str) and DAY.fullmatch(value):
        return (date.fromisoformat(value) + offset).isoformat()
    return value


def data_snapshot(data_dir: Path) -> dict[str, bytes]:
    """Every file of the data folder (plans, clinic, keys, lock files) with its content,
    but the rate-limit counters, which count every request, refused or not."""
    return {
        str(path.relative_to(data_dir)): path.read_bytes()
        for path in sorted(data_dir.rglob("*"))
        if path.is_file() and not path.name.startswith(rate_limits.COUNTERS_FILE)
    }


def is_error_shape(answer) -> bool:
    body = answer.get_json(silent=True)
    return (
        answer.mimetype == "application/json"
        and isinstance(body, dict)
        and set(body) == {"error", "message"}
        and all(isinstance(body[key], str) and body[key] for key in body)
    )


class World:
    """An app with push on and the documented examples' plan, device link, invitation
    and calendar link in place, so every example can succeed."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.app = create_app(
            {
                "TESTING": True,
                "DATA_DIR": data_dir,
                "PUSH_CONTACT": CONTACT,
                "SECRET_KEY": "x",
                **GENEROUS_LIMITS,
            }
        )
        self.client = self.app.test_client()
        registration = examples("/api/plans", "post")["plan"]
        assert self.client.post("/api/plans", json=registration).status_code == 201
        self.plan_id = registration["plan_id"]
        self.device_id = registration["device_id"]
        self.auth = {
            "Authorization": f"Bearer {registration['device_id']}.{registration['credential']}"
        }
        tomorrow_ms = int(time.time() * 1000) + 24 * 60 * 60 * 1000
        store, clinic = self.app.extensions["plans"], self.app.extensions["clinic"]
        token = examples("/api/join", "post")["tablet"]["token"]
        store.add_join_token(self.plan_id, devices.digest(token), tomorrow_ms)
        code = examples("/api/invitations/check", "post")["code"]["code"]
        # The clinic's file comes with its first practitioner.
        clinic.add_practitioner("nurse@harbour-skin.co.uk", "unused", tomorrow_ms)
        clinic.add_invitation(accounts.digest(code), self.plan_id, tomorrow_ms)
        made = self.send("/api/plans/{plan_id}/calendar-link", "post", {})
        assert made.status_code == 201

    def send(self, path: str, method: str, body=None, **kwargs):
        url = path.format(plan_id=self.plan_id, device_id=self.device_id)
        if body is not None:
            kwargs["json"] = body
        return self.client.open(url, method=method.upper(), headers=self.auth, **kwargs)

    def snapshot(self) -> dict[str, bytes]:
        return data_snapshot(self.data_dir)


# --- the description matches the routes -------------------------------------------


def app_operations(app) -> set[tuple[str, str]]:
    return {
        (api_schema.openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_and_method_is_described(app):
    assert app_operations(app) - set(operations()) == set()


def test_every_described_operation_is_a_route(app):
    assert set(operations()) - app_operations(app) == set()
    assert all(path.startswith("/api/") for path in SPEC["paths"])


def test_path_parameters_are_the_routes_variables():
    for path, method in operations():
        declared = {
            resolve(p)["name"]
            for p in SPEC["paths"][path][method].get("parameters", [])
            if resolve(p)["in"] == "path"
        }
        assert declared == set(re.findall(r"{([^}]+)}", path)), (path, method)


def test_the_description_is_valid_openapi_3_1_with_valid_schemas():
    errors = [e.message for e in Draft202012Validator(OPENAPI_31).iter_errors(SPEC)]
    assert errors == []
    for schema in SPEC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(SPEC))
    for target in refs:
        assert resolve({"$ref": target}) is not None, target


def test_operations_say_who_may_call_them():
    schemes = set(SPEC["components"]["securitySchemes"])
    for path, method in operations():
        operation = SPEC["paths"][path][method]
        assert "security" in operation, (path, method)
        needs_credential = "{plan_id}" in path
        named = {name for requirement in operation["security"] for name in requirement}
        assert named == ({"deviceCredential"} if needs_credential else set()), (path, method)
        assert named <= schemes


# --- the schemas are strict ---------------------------------------------------------


def walk(schema, where: str, seen: set[int] | None = None):
    """Every subschema reachable from `schema` (references followed), with where it is."""
    seen = set() if seen is None else seen
    schema = resolve(schema)
    if id(schema) in seen:
        return
    seen.add(id(schema))
    yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from walk(sub, f"{where}.{name}", seen)
    if "items" in schema:
        yield from walk(schema["items"], f"{where}[]", seen)
    for index, sub in enumerate(schema.get("oneOf", [])):
        yield from walk(sub, f"{where}<{index}>", seen)


def request_schemas():
    for path, method in operations():
        schema = request_schema(path, method)
        if schema is not None:
            yield f"{method.upper()} {path}", schema


def strictness_problems(where: str, schema: dict) -> list[str]:
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    problems = []
    if not kinds and "oneOf" not in schema:
        problems.append("no type")
    if "object" in kinds:
        if schema.get("additionalProperties") is not False:
            problems.append("open object")
        if not isinstance(schema.get("required"), list) or "properties" not in schema:
            problems.append("no required list or properties")
        elif set(schema["required"]) - set(schema["properties"]):
            problems.append("requires an undeclared field")
    if "object" not in kinds and "description" not in schema:
        problems.append("no description (the error message says 'must be <description>')")
    if "string" in kinds and "enum" not in schema and "maxLength" not in schema:
        problems.append("unbounded string")
    if "integer" in kinds and not ("minimum" in schema and "maximum" in schema):
        problems.append("unbounded integer")
    if "array" in kinds and "maxItems" not in schema:
        problems.append("unbounded array")
    return [f"{where}: {problem}" for problem in problems]


def test_request_schemas_are_strict():
    problems = []
    for operation, schema in request_schemas():
        for where, sub in walk(schema, operation):
            problems += strictness_problems(where, sub)
    assert problems == []


def test_path_parameters_are_strict():
    for path, method in operations():
        for parameter in SPEC["paths"][path][method].get("parameters", []):
            schema = resolve(resolve(parameter)["schema"])
            assert strictness_problems(path, schema) == []


def test_response_objects_are_closed_and_errors_have_the_error_shape():
    problems = []
    for path, method in operations():
        for status, response in SPEC["paths"][path][method]["responses"].items():
            response = resolve(response)
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if int(status) >= 400:
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
            if schema is None:
                assert status == "204", (path, method, status)
                continue
            for where, sub in walk(schema, f"{method.upper()} {path} {status}"):
                if sub.get("type") == "object" and (
                    sub.get("additionalProperties") is not False
                    or set(sub.get("required", ())) != set(sub["properties"])
                ):
                    problems.append(where)
    assert problems == []


def test_operations_with_a_body_document_the_refusals():
    for path, method in operations():
        responses = SPEC["paths"][path][method]["responses"]
        if request_schema(path, method) is not None:
            assert {"400", "413"} <= set(responses), (path, method)
            assert examples(path, method), (path, method)
        if "{plan_id}" in path:
            assert "404" in responses, (path, method)


# --- the server validates with these schemas ----------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("openapi") / "data")


@pytest.mark.parametrize(
    ("path", "method", "name"),
    [(p, m, name) for p, m in operations() for name in examples(p, m)],
)
def test_documented_examples_are_accepted(tmp_path, path, method, name):
    world = World(tmp_path / "data")
    body = examples(path, method)[name]
    assert Draft202012Validator(api_schema.inlined(request_schema(path, method))).is_valid(body)
    answer = world.send(path, method, body)
    assert 200 <= answer.status_code < 300, answer.get_json()
    # The answer is the documented one too.
    documented = resolve(SPEC["paths"][path][method]["responses"][str(answer.status_code)])
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        Draft202012Validator(api_schema.inlined(schema)).validate(answer.get_json())


def _wrong_type(schema: dict):
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    candidates = {
        "integer": 12345,
        "string": "text",
        "boolean": True,
        "null": None,
        "array": [],
        "object": {},
    }
    allowed = set(kinds) | ({"integer"} if "number" in kinds else set())
    return next(value for kind, value in candidates.items() if kind not in allowed)


def _label(where: tuple) -> str:
    text = ""
    for part in where:
        text = f"{text}[{part}]" if isinstance(part, int) else (f"{text}.{part}" if text else part)
    return text


def breakages(schema, value, where: tuple = ()):
    """(what, field path, replacement or DELETE) for each constraint `value` meets."""
    schema = resolve(schema)
    if "oneOf" in schema:
        branch = next(
            sub
            for sub in schema["oneOf"]
            if Draft202012Validator(api_schema.inlined(sub)).is_valid(value)
        )
        yield from breakages(branch, value, where)
        return
    if "type" in schema:
        yield "type", where, _wrong_type(schema)
    if isinstance(value, dict):
        for name in schema.get("required", []):
            yield f"required {name}", (*where, name), DELETE
        yield "additionalProperties", (*where, "unexpected_field"), 1
        for name, sub in schema["properties"].items():
            if name in value:
                yield from breakages(sub, value[name], (*where, name))
    elif isinstance(value, list):
        if "minItems" in schema and schema["minItems"] > 0:
            yield "minItems", where, []
        if value:
            yield "maxItems", where, value * (schema["maxItems"] // len(value) + 1)
        for index, item in enumerate(value):
            yield from breakages(schema["items"], item, (*where, index))
    elif isinstance(value, str):
        if "enum" in schema:
            yield "enum", where, "not-a-choice"
        if "pattern" in schema:
            yield "pattern", where, value[:-1] + " "
        if schema.get("minLength", 0) > 0:
            yield "minLength", where, value[: schema["minLength"] - 1]
        if "maxLength" in schema:
            yield "maxLength", where, value + value[-1] * (schema["maxLength"] - len(value) + 1)
    elif type(value) is int:
        if "minimum" in schema:
            yield "minimum", where, schema["minimum"] - 1
        if "maximum" in schema:
            yield "maximum", where, schema["maximum"] + 1


DELETE = object()


def broken_body(body, where: tuple, replacement):
    broken = copy.deepcopy(body)
    parent = broken
    for part in where[:-1]:
        parent = parent[part]
    if replacement is DELETE:
        del parent[where[-1]]
    elif where:
        parent[where[-1]] = replacement
    else:
        broken = replacement
    return broken


def broken_cases():
    for path, method in operations():
        schema = request_schema(path, method)
        if schema is None:
            continue
        name, body = next(iter(examples(path, method).items()))
        for what, where, replacement in breakages(schema, body):
            if not where:
                continue  # a body that is not an object: the test below
            yield pytest.param(
                path,
                method,
                where,
                broken_body(body, where, replacement),
                id=f"{method.upper()} {path} {_label(where)} {what}",
            )


@pytest.mark.parametrize(("path", "method", "where", "body"), list(broken_cases()))
def test_a_body_breaking_one_constraint_is_refused_and_changes_nothing(
    world, path, method, where, body
):
    before = world.snapshot()
    answer = world.send(path, method, body)
    assert answer.status_code == 400, answer.get_json()
    assert is_error_shape(answer) and answer.get_json()["error"] == "invalid"
    # The message starts with the field (an unknown or missing one: with its object).
    field = _label(where)
    parent = _label(where[:-1])
    message = answer.get_json()["message"]
    assert message.startswith(field) or (parent and message.startswith(parent)), message
    assert world.snapshot() == before


@pytest.mark.parametrize(("path", "method"), [op for op in operations() if request_schema(*op)])
@pytest.mark.parametrize("body", ["[]", '"text"', "12", "null", "{", "", "{} {}"])
def test_a_body_that_is_not_a_json_object_is_refused(world, path, method, body):
    before = world.snapshot()
    answer = world.send(path, method, data=body, content_type="application/json")
    assert answer.status_code == 400 and is_error_shape(answer)
    assert world.snapshot() == before


def test_messages_name_the_field_path_in_the_python_checks_wording(world):
    sync = "/api/plans/{plan_id}/sync"
    tick = examples(sync, "post")["ticks"]["events"][0]
    cases = [
        ({"cursor": 0, "events": [tick, {**tick, "ts": -1}]}, "events[1].ts: must be a whole"),
        ({"cursor": 0, "events": [{**tick, "extra": 1}]}, "events[0].extra: unknown field"),
        ({"cursor": 0, "events": [{**tick, "done": 1}]}, "events[0].done: must be true or"),
        ({"cursor": 1.0, "events": []}, "cursor: must be a whole number"),
        ({"events": []}, "cursor: is required"),
        ({"cursor": 0, "events": [], "more": 1}, "more: unknown field"),
        ({"cursor": 0, "events": [{**tick, "day": "2026-10-02\n"}]}, "events[0].day: must be"),
    ]
    for body, start in cases:
        message = world.send(sync, "post", body).get_json()["message"]
        assert message.startswith(start), (body, message)
    long_name = "x" * 10_000
    answer = world.send(sync, "post", {"cursor": 0, "events": [{**tick, long_name: 1}]})
    assert answer.status_code == 400 and len(answer.get_json()["message"]) < 200
    registration = examples("/api/plans", "post")["plan"]
    many = {f"{n:05}" + "y" * 100: n for n in range(1000)}
    answer = world.send(
        "/api/plans", "post", {**registration, "plan": {**registration["plan"], **many}}
    )
    assert answer.get_json()["message"].startswith("plan: unknown ['00000y")
    assert len(answer.get_json()["message"]) < 400
