"""Concurrent syncs through real gunicorn worker processes (not Flask's test client):
4 clients × 500 syncs on one plan and on four plans, nothing lost, no error."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from support import RunningServer
from support import assert_nothing_lost
from support import generous_limits_environment
from support import stored_plans

from pwa.care.days import local_day
from pwa.sync.devices import digest

CLIENTS = 4
SYNCS_PER_CLIENT = 500
TZ = "Europe/London"


def _day(offset: int) -> str:
    return (local_day(datetime.now(UTC), TZ) + timedelta(days=offset)).isoformat()


PLAN = {
    "time_zone": TZ,
    "day_start_hour": 3,
    "sessions": [{"day": _day(-5), "number": 1}],
    "next_session": None,
    "planned_sessions": 3,
    "skin_type": "III",
    "pih_history": "no",
    "mode": "pih_risk",
    "protocol": {"id": "microneedling-default", "version": 1},
}
ITEMS = ["hands-off", "moisturise", "mineral-spf", "no-picking", "gentle-cleanse-morning"]


class Client:
    """One device with a keep-alive connection to the server."""

    def __init__(self, port: int, plan_id: str | None = None, device_id: str | None = None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.plan_id = plan_id or secrets.token_urlsafe(16)
        self.device = device_id or secrets.token_urlsafe(16)
        self.credential = secrets.token_urlsafe(24)

    def post(self, path: str, body: dict, auth: bool = True) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.device}.{self.credential}"
        self.connection.request("POST", path, json.dumps(body), headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")

    def register(self) -> None:
        body = {
            "plan_id": self.plan_id,
            "device_id": self.device,
            "credential": self.credential,
            "plan": PLAN,
        }
        assert self.post("/api/plans", body, auth=False)[0] == 201


def _syncs(client: Client, prefix: str, statuses: list, sent: list) -> None:
    for n in range(SYNCS_PER_CLIENT):
        event = {
            "id": f"{prefix}-{n:05d}",
            "device": client.device,
            "counter": n + 1,
            "ts": int(time.time() * 1000),
            "day": _day(-(n % 5)),
            "item": ITEMS[n % len(ITEMS)],
            "done": n % 3 != 0,
        }
        status, _ = client.post(
            f"/api/plans/{client.plan_id}/sync", {"events": [event], "cursor": 0}
        )
        statuses.append(status)
        sent.append(event)


def _run(clients: list[Client]) -> tuple[list[int], list[dict]]:
    statuses: list[int] = []
    sent: list[dict] = []
    threads = [
        threading.Thread(target=_syncs, args=(client, f"c{n}", statuses, sent))
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for client in clients:
        client.connection.close()  # kept alive by the threaded workers until now
    return statuses, sent


@pytest.fixture(scope="module", params=["files", "postgres"])
def server(request, tmp_path_factory):
    """`make run` with 4 workers, keeping its plans in files, then in PostgreSQL."""
    folder = tmp_path_factory.mktemp("concurrency")
    environment = generous_limits_environment()
    if request.param == "postgres":
        database = request.getfixturevalue("postgres_database")
        database.empty()
        environment["DATABASE_URL"] = database.url
    running = RunningServer(
        folder / "data", folder / "server.log", WORKERS="4", **environment
    ).start()
    running.database_url = environment.get("DATABASE_URL", "")
    yield running
    running.stop()


def test_four_devices_syncing_one_plan_lose_nothing(server):
    first = Client(server.port)
    first.register()
    # Every device has its own credential on the same plan (joined through tokens).
    store = stored_plans(server.data_dir, server.database_url)
    clients = [first]
    for _ in range(CLIENTS - 1):
        other = Client(server.port, plan_id=first.plan_id)
        store.add_device(
            first.plan_id, other.device, digest(other.credential), int(time.time() * 1000)
        )
        clients.append(other)
    statuses, sent = _run(clients)
    assert statuses == [200] * (CLIENTS * SYNCS_PER_CLIENT)
    stored = store.export_plan(first.plan_id)["events"]
    assert_nothing_lost(stored, sent)
    # Every stored event reaches a device that reads from the start.
    events, _ = store.changes_since(first.plan_id, 0)
    assert sorted(e["id"] for e in events) == sorted(e["id"] for e in stored)


def test_four_devices_syncing_four_plans_lose_nothing(server):
    clients = [Client(server.port) for _ in range(CLIENTS)]
    for client in clients:
        client.register()
    statuses, sent = _run(clients)
    assert statuses == [200] * (CLIENTS * SYNCS_PER_CLIENT)
    store = stored_plans(server.data_dir, server.database_url)
    for n, client in enumerate(clients):
        stored = store.export_plan(client.plan_id)["events"]
        assert_nothing_lost(stored, [e for e in sent if e["id"].startswith(f"c{n}-")])
    assert "Traceback" not in server.log()
