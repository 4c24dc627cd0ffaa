"""Hostile input against every API endpoint, generated from pwa/sync/openapi.json and at random.

Two generators, both against the real app (its WSGI interface, real files in a data folder):

* schemathesis, from the description: for every operation, data that fits the schemas and
  data that breaks them, for the registered example plan with its device's valid Bearer
  credential and for strangers with generated ids and credentials.  Its checks: no server
  error, a documented status, content type and response schema, and every body that
  breaks the description refused with a 4xx.
* Hypothesis, to every endpoint with its own method: arbitrary JSON, objects built from
  the API's field names, documented examples with one part replaced, and arbitrary bytes.

Every answer must be a success or a 4xx with the JSON error shape, never a 5xx; a success
for a body means the body fits the description (the server accepts nothing the schema
refuses); and a refused request leaves every file of the data folder (plans, clinic,
keys) byte for byte as it was.

CI runs a bounded number of examples.  SOAK=1 runs the long version, at least 10 000
payloads in all (`SOAK=1 .venv/bin/pytest -q tests/test_hostile_input.py`); the count is
printed at the end either way.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance
from test_openapi import SPEC
from test_openapi import World
from test_openapi import examples
from test_openapi import operations
from test_openapi import request_schema

from pwa.core import rate_limits
from pwa.sync import api_schema
from pwa.sync.devices import digest

SOAK = os.environ.get("SOAK") == "1"
# Per operation, generation mode and caller (schemathesis), and per operation (Hypothesis).
# CI: about 4 000 payloads in 35-50 s.  Soak (SOAK=1): about 17 000 in 4 minutes.
SCHEMATHESIS_EXAMPLES = 200 if SOAK else 50
RAW_EXAMPLES = 600 if SOAK else 120
SOAK_MINIMUM = 10_000
SENT: Counter[str] = Counter()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
HYPOTHESIS = settings(
    deadline=None,
    # Generation speed and size are not what these tests are about.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


class HostileWorld(World):
    """The examples' world, put back after a request that deleted the plan or revoked the
    device, and with a cheap snapshot of the data folder (files re-read only when changed)."""

    def __init__(self, data_dir: Path):
        super().__init__(data_dir)
        self.registration = examples("/api/plans", "post")["plan"]
        self._read: dict[Path, tuple[tuple, bytes]] = {}

    def snapshot(self) -> dict[str, bytes]:
        files = {}
        for path in sorted(self.data_dir.rglob("*")):
            # The rate-limit counters count every request, refused or not.
            if not path.is_file() or path.name.startswith(rate_limits.COUNTERS_FILE):
                continue
            stat = path.stat()
            key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            cached = self._read.get(path)
            if cached is None or cached[0] != key:
                cached = self._read[path] = (key, path.read_bytes())
            files[str(path.relative_to(self.data_dir))] = cached[1]
        return files

    def repair(self) -> None:
        """Undo what a successful request may have done to the plan the device tests use."""
        store = self.app.extensions["plans"]
        device, credential = self.registration["device_id"], self.registration["credential"]
        if not store.device_is_valid(self.plan_id, device, digest(credential)):
            store.delete_plan(self.plan_id)
            assert self.client.post("/api/plans", json=self.registration).status_code == 201
        if store.calendar_link(self.plan_id) is None:
            made = self.send("/api/plans/{plan_id}/calendar-link", "post", {})
            assert made.status_code == 201


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> HostileWorld:
    return HostileWorld(tmp_path_factory.mktemp("hostile") / "data")


@pytest.fixture(scope="module", autouse=True)
def payload_count(request):
    """Print how many payloads this module sent (and by which generator)."""
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        parts = ", ".join(f"{SENT[name]} {name}" for name in sorted(SENT))
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nhostile input: {sum(SENT.values())} payloads sent ({parts})")


def check_answer(world: HostileWorld, before: dict, status: int, mimetype: str, content: bytes):
    """A success or a JSON 4xx, never a 5xx; a refusal changed nothing."""
    assert status < 500, content[:500]
    if status >= 400:
        body = json.loads(content)
        assert mimetype == "application/json", mimetype
        assert set(body) == {"error", "message"}, body
        assert all(isinstance(body[key], str) and body[key] for key in body), body
        assert world.snapshot() == before, "a refused request changed the data folder"
    else:
        world.repair()


# --- schemathesis --------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(world):
    schema = schemathesis.openapi.from_dict(SPEC)
    schema.app = world.app
    return schema


def schemathesis_runs():
    for path, method in operations():
        has_body = request_schema(path, method) is not None
        for caller in ("device", "stranger"):
            if caller == "device" and "{plan_id}" not in path:
                continue  # no credential involved: the stranger's runs cover it
            for mode in ("positive", "negative"):
                # Negative data needs something to break: a body, or a generated path.
                can_break = has_body or (caller == "stranger" and "{plan_id}" in path)
                if mode == "negative" and not can_break:
                    continue
                yield pytest.param(
                    path, method, caller, mode, id=f"{method} {path} {caller} {mode}"
                )


@pytest.mark.parametrize(("path", "method", "caller", "mode"), list(schemathesis_runs()))
def test_schemathesis_finds_no_server_error_and_no_change_on_refusal(
    world, api, path, method, caller, mode
):
    fixed = {}
    if caller == "device":
        fixed = {"path_parameters": {"plan_id": world.plan_id}, "headers": dict(world.auth)}
    strategy = api[path][method.upper()].as_strategy(generation_mode=GenerationMode(mode), **fixed)

    @settings(HYPOTHESIS, max_examples=SCHEMATHESIS_EXAMPLES)
    @given(case=strategy)
    def run(case):
        before = world.snapshot()
        # The WSGI transport does not undo Flask-Compress's encoding: ask for none.
        response = case.call(headers={"Accept-Encoding": "identity"})
        SENT["schemathesis"] += 1
        case.validate_response(response, checks=CHECKS)
        mimetype = response.headers.get("content-type", [""])[0].split(";")[0]
        check_answer(world, before, response.status_code, mimetype, response.content)

    run()


# --- Hypothesis: arbitrary JSON and bytes ----------------------------------------------


def _field_names() -> list[str]:
    names = set()
    for schema in SPEC["components"]["schemas"].values():
        names.update(schema.get("properties", {}))
    return sorted(names)


FIELD_NAMES = _field_names()
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["2026-02-30", "24:00", "", " ", "\x00", "../../etc/passwd", "é" * 64])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=20,
)


def _places(value, where=()):
    """Every place in a JSON value: the value itself and everything inside it."""
    yield where
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*where, index))


def _replaced(value, where, replacement):
    if not where:
        return replacement
    changed = copy.deepcopy(value)
    parent = changed
    for part in where[:-1]:
        parent = parent[part]
    parent[where[-1]] = replacement
    return changed


def _payloads(path: str, method: str):
    """Bytes to send as the body: JSON of every kind, near-valid JSON, and noise."""
    as_json = [
        JSON_VALUES,
        st.dictionaries(KEYS, JSON_VALUES, max_size=8),
    ]
    for example in examples(path, method).values():
        places = list(_places(example))
        as_json.append(st.builds(_replaced, st.just(example), st.sampled_from(places), JSON_VALUES))
    encoded = st.one_of(*as_json).map(lambda value: json.dumps(value).encode())
    return encoded | st.binary(max_size=2000) | st.text(max_size=200).map(str.encode)


def _schema_accepts(path: str, method: str, data: bytes) -> bool:
    try:
        body = json.loads(data)
        if not isinstance(body, dict):
            return False
        api_schema.check_body(path, method, body)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("path", "method"), operations(), ids=lambda part: part)
def test_arbitrary_bodies_get_a_json_refusal_or_fit_the_description(world, path, method):
    has_body = request_schema(path, method) is not None
    content_types = st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", None]
    )
    credentials = st.sampled_from(["device", "none", "wrong"])

    @settings(HYPOTHESIS, max_examples=RAW_EXAMPLES)
    @given(data=_payloads(path, method), content_type=content_types, credential=credentials)
    def run(data, content_type, credential):
        headers = {}
        if credential == "device":
            headers = dict(world.auth)
        elif credential == "wrong":
            headers = {"Authorization": f"Bearer {secrets.token_urlsafe(12)}.{'x' * 32}"}
        before = world.snapshot()
        answer = world.client.open(
            path.format(plan_id=world.plan_id, device_id=world.device_id),
            method=method.upper(),
            data=data,
            content_type=content_type,
            headers=headers,
        )
        SENT["hypothesis"] += 1
        check_answer(world, before, answer.status_code, answer.mimetype, answer.get_data())
        if has_body and answer.status_code < 400:
            assert _schema_accepts(path, method, data), data[:500]

    run()


def test_deeply_nested_json_is_a_400_not_a_crash(world):
    """Found by this module: the JSON parser's RecursionError used to be a 500."""
    for data in ("[" * 100_000, '{"plan": ' * 50_000 + "1" + "}" * 50_000):
        before = world.snapshot()
        answer = world.client.post("/api/plans", data=data, content_type="application/json")
        SENT["hand-written"] += 1
        assert answer.status_code == 400
        check_answer(world, before, answer.status_code, answer.mimetype, answer.get_data())


@pytest.mark.parametrize("endpoint", ["hTTPs://XS]", "https://[::1", "https://[zz]/push/x"])
def test_a_push_endpoint_urlsplit_refuses_is_a_400_not_a_crash(world, endpoint):
    """Found by schemathesis: a stray bracket made urlsplit raise a bare ValueError (a 500)."""
    body = copy.deepcopy(examples("/api/plans/{plan_id}/push", "put")["daily"])
    body["subscription"]["endpoint"] = endpoint
    before = world.snapshot()
    answer = world.send("/api/plans/{plan_id}/push", "put", body)
    SENT["hand-written"] += 1
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith("endpoint")
    check_answer(world, before, answer.status_code, answer.mimetype, answer.get_data())


# --- the compiled check and jsonschema must agree -----------------------------------


def _at(value, where):
    for part in where:
        value = value[part]
    return copy.deepcopy(value)


def _jsonschema_accepts(path: str, method: str, body) -> bool:
    validator = api_schema._validator(api_schema.openapi_path(path), method)
    return next(validator.iter_errors(body), None) is None


@pytest.mark.parametrize(("path", "method"), [op for op in operations() if request_schema(*op)])
def test_the_compiled_check_and_jsonschema_agree(path, method):
    """check_body lets the compiled validator accept bodies: it must never accept more."""
    near_valid = [st.sampled_from(list(examples(path, method).values()))]
    for example in examples(path, method).values():
        places = list(_places(example))
        # A place given any JSON value, or a value found elsewhere in the example
        # (those often still fit: both verdicts get tried).
        elsewhere = st.sampled_from(places).map(lambda where, value=example: _at(value, where))
        near_valid.append(
            st.builds(_replaced, st.just(example), st.sampled_from(places), JSON_VALUES | elsewhere)
        )
    verdicts = Counter()

    @settings(HYPOTHESIS, max_examples=RAW_EXAMPLES)
    @given(body=st.one_of(*near_valid, st.dictionaries(KEYS, JSON_VALUES, max_size=8)))
    def run(body):
        quick = api_schema._passes_quick_check(path, method, body)
        full = _jsonschema_accepts(path, method, body)
        assert not quick or full, f"accepted by the compiled check only: {body!r}"
        # A body jsonschema accepts takes the fast road unless it holds a float.
        assert quick or not full or api_schema._holds_float(body), body
        verdicts[full] += 1

    run()
    for body in examples(path, method).values():
        assert api_schema._passes_quick_check(path, method, body)
    assert verdicts[True] and verdicts[False], verdicts  # both verdicts were tried


def test_a_whole_float_is_not_a_whole_number():
    sync = "/api/plans/{plan_id}/sync"
    with pytest.raises(api_schema.RequestInvalid, match="cursor: must be"):
        api_schema.check_body(sync, "post", {"cursor": 2.0, "events": []})


def test_the_run_sent_the_payloads_it_promises():
    # Runs last in this module: the count covers every test above.  CI's bounded run
    # sends about 3,900; `make soak` (SOAK=1) must reach the 10,000.
    assert sum(SENT.values()) >= (SOAK_MINIMUM if SOAK else 3000), SENT
