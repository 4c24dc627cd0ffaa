"""Rate limits that mean what they say: per client address, counted across every worker
(a SQLite file in the data folder by default, Redis when REDIS_URL is set), the real
address taken from a proxy only when TRUSTED_PROXIES says so."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from api_device import wire_plan
from support import RunningServer
from test_api import Device
from test_api import join

from pwa import create_app
from pwa.core import rate_limits
from pwa.core.counters import FileCounters
from pwa.core.counters import prepare
from pwa.core.counters import uri_for

ROOT = Path(__file__).resolve().parent.parent


def make_app(data_dir, **config):
    return create_app({"TESTING": True, "DATA_DIR": data_dir, **config})


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_plan_creation_is_counted_across_workers_and_per_address(data_dir):
    first = make_app(data_dir, PLAN_RATE_LIMIT="3 per hour")
    # Another gunicorn worker: its own app on the same data folder.
    second = make_app(data_dir, PLAN_RATE_LIMIT="3 per hour")
    statuses = [
        Device(app.test_client()).register().status_code for app in (first, second, first, second)
    ]
    assert statuses == [201, 201, 201, 429]
    refused = Device(first.test_client())
    answer = refused.register()
    assert answer.status_code == 429
    assert answer.get_json()["error"] == "too_many_requests"
    assert int(answer.headers["Retry-After"]) > 0
    assert not first.extensions["plans"].plan_exists(refused.plan_id), "a refusal stores nothing"
    assert Device(from_address(second, "203.0.113.5")).register().status_code == 201


@pytest.mark.parametrize(
    ("setting", "send"),
    [
        ("SYNC_RATE_LIMIT", lambda client, phone: phone.sync([])),
        ("JOIN_RATE_LIMIT", lambda client, phone: join(client, phone).joined),
        (
            "INVITATION_RATE_LIMIT",
            lambda client, phone: client.post("/api/invitations/redeem", json={"code": "x" * 24}),
        ),
        (
            "INVITATION_RATE_LIMIT",
            lambda client, phone: client.post("/api/invitations/check", json={"code": "x" * 24}),
        ),
    ],
)
def test_each_limited_api_route_answers_429_in_json(data_dir, setting, send):
    app = make_app(data_dir, **{setting: "2 per hour"})
    client = app.test_client()
    phone = Device(client)
    assert phone.register().status_code == 201
    answers = [send(client, phone) for _ in range(3)]
    assert [a.status_code == 429 for a in answers] == [False, False, True]
    assert answers[-1].get_json()["error"] == "too_many_requests"


def test_a_plans_syncs_are_counted_over_all_addresses_and_strangers_use_none(data_dir):
    app = make_app(data_dir, PLAN_SYNC_RATE_LIMIT="3 per minute")
    phone = Device(app.test_client())
    assert phone.register().status_code == 201
    stranger = from_address(app, "203.0.113.9")
    wrong = {"Authorization": f"Bearer {phone.id}.{'x' * 32}"}
    for _ in range(5):
        answer = stranger.post(
            f"/api/plans/{phone.plan_id}/sync", json={"events": [], "cursor": 0}, headers=wrong
        )
        assert answer.status_code == 404
    statuses = []
    for n in range(4):
        phone.client = from_address(app, f"198.51.100.{n}")  # a phone moving between networks
        statuses.append(phone.sync([]).status_code)
    assert statuses == [200, 200, 200, 429]
    other = Device(app.test_client())
    assert other.register().status_code == 201 and other.sync([]).status_code == 200


def test_every_limited_view_exists(app):
    assert set(rate_limits.LIMITED) <= set(app.view_functions)


def post_plan(url: str, address: str | None = None) -> int:
    device = {"plan_id": secrets.token_urlsafe(16), "device_id": secrets.token_urlsafe(16)}
    body = {**device, "credential": secrets.token_urlsafe(24), "plan": wire_plan("Europe/London")}
    headers = {"Content-Type": "application/json"}
    if address:
        headers["X-Forwarded-For"] = address
    request = urllib.request.Request(
        url + "/api/plans", json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"] == "application/json"
        return error.code


def test_gunicorn_with_three_workers_allows_exactly_the_limit(tmp_path):
    server = RunningServer(
        tmp_path / "data", tmp_path / "server.log", WORKERS="3", PWA_PLAN_RATE_LIMIT="5 per hour"
    ).start()
    try:
        statuses = [post_plan(server.url) for _ in range(15)]
    finally:
        server.stop()
    assert sorted(statuses) == [201] * 5 + [429] * 10, statuses


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(tmp_path):
    trusting = RunningServer(
        tmp_path / "trusting",
        tmp_path / "trusting.log",
        WORKERS="2",
        PWA_PLAN_RATE_LIMIT="2 per hour",
        PWA_TRUSTED_PROXIES="1",
    ).start()
    try:
        behind_proxy = [post_plan(trusting.url, f"198.51.100.{n % 3}") for n in range(6)]
    finally:
        trusting.stop()
    assert behind_proxy == [201] * 6, "three clients, two plans each"

    naive = RunningServer(
        tmp_path / "naive", tmp_path / "naive.log", WORKERS="2", PWA_PLAN_RATE_LIMIT="2 per hour"
    ).start()
    try:
        # A client cannot buy itself a fresh budget by making up a forwarded address.
        made_up = [post_plan(naive.url, f"198.51.100.{n}") for n in range(4)]
        log = naive.log()
    finally:
        naive.stop()
    assert made_up == [201, 201, 429, 429]
    assert "forwarded headers (X-Forwarded-For) but TRUSTED_PROXIES is 0" in log


def test_the_forwarded_warning_is_logged_once_per_worker(data_dir, caplog):
    app = make_app(data_dir)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        for _ in range(3):
            client.get("/api/health", headers={"X-Forwarded-For": "198.51.100.1"})
        client.get("/api/health")
    assert sum("TRUSTED_PROXIES is 0" in r.getMessage() for r in caplog.records) == 1


def redis_url() -> str:
    """A Redis for the test, or a skip (a failure under CI, which starts one)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("CI is set and no Redis answers on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


def test_with_redis_url_two_hosts_share_one_count(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url())
    # Two hosts: separate data folders, one Redis; a prefix of this test's own keeps
    # other runs' counts out.
    prefix = f"test-{secrets.token_hex(6)}/"
    hosts = [
        make_app(tmp_path / name, PLAN_RATE_LIMIT="3 per hour", RATELIMIT_KEY_PREFIX=prefix)
        for name in ("host-a", "host-b")
    ]
    assert hosts[0].config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    statuses = [Device(hosts[n % 2].test_client()).register().status_code for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert not (tmp_path / "host-a" / rate_limits.COUNTERS_FILE).exists()


def test_a_bad_redis_url_stops_the_app_with_its_name(data_dir, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(ValueError, match="REDIS_URL: must be a redis:// or rediss:// address"):
        make_app(data_dir)


def test_the_counters_file_is_private_and_names_no_address_it_was_not_given(data_dir):
    app = make_app(data_dir, PLAN_RATE_LIMIT="1 per hour")
    Device(app.test_client()).register()
    path = data_dir / rate_limits.COUNTERS_FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"


COUNT_IN_A_PROCESS = """
import sys
from pwa.core.counters import FileCounters
counters = FileCounters(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    counters.incr("shared", 3600)
"""


def test_processes_counting_at_once_lose_no_hit(tmp_path):
    uri = uri_for(tmp_path / "counters.sqlite3")
    prepare(uri)
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", COUNT_IN_A_PROCESS, uri, "300"],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            for _ in range(4)
        ]
        for worker in workers:
            assert worker.stdout.readline() == "ready\n"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        assert [worker.wait(timeout=120) for worker in workers] == [0] * 4
    assert FileCounters(uri).get("shared") == 1200


def test_a_window_ends_and_starts_again(tmp_path):
    uri = uri_for(tmp_path / "counters.sqlite3")
    prepare(uri)
    counters = FileCounters(uri)
    assert counters.incr("k", 60) == 1 and counters.incr("k", 60, amount=2) == 3
    assert counters.get("k") == 3 and counters.get("other") == 0
    assert counters.get_expiry("k") > counters.get_expiry("other")
    counters._connection().execute("UPDATE counters SET expires = 0")  # as time would
    assert counters.get("k") == 0
    assert counters.incr("k", 60) == 1, "a new window"
    counters.clear("k")
    assert counters.get("k") == 0
    assert counters.check()
