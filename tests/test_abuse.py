"""An abuse run against `make run` (gunicorn, 3 workers, the default limits, loopback only):
floods of plan creation, sync and login from one address and from many forwarded
addresses, and one plan grown to its cap, while another plan keeps syncing.

Every answer must be JSON 2xx or 4xx (never a 5xx or a dropped connection), each limit
must let exactly its rate through per address, and the grown plan's file must stay
under the bound the README states.  `make test` runs a small version; `make soak`
(SOAK=1) the full one, which also measures the quiet plan's sync p95 under the flood
against its p95 before (the target: within 2x) and prints the figures for the README.
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import secrets
import statistics
import time
from datetime import timedelta

import pytest
from api_device import plan_today
from api_device import wire_plan
from support import RunningServer
from test_plan_bounds import FILLER_ITEMS

from pwa import storage
from pwa.care import merge

SOAK = os.environ.get("SOAK") == "1"
ZONE = "Europe/London"
# Loopback only, bounded in count: what each flood sends.
PLAN_FLOOD = 400 if SOAK else 60
FORWARDED_CLIENTS = 40 if SOAK else 6
SYNC_FLOOD = 3000 if SOAK else 700
LOGIN_FLOOD = 60 if SOAK else 20
QUIET_SYNCS = 200 if SOAK else 40
# The README's bound for a plan filled to its cap (tests/test_plan_bounds.py measures it).
CAPPED_PLAN_BYTES = 1_500_000


class Client:
    """One HTTP connection, kept alive unless `keep` is false; `forwarded` is the
    X-Forwarded-For it sends."""

    opened: list[Client] = []

    def __init__(self, port: int, forwarded: str | None = None, keep: bool = True):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.keep = keep
        self.port = port
        self.forwarded = forwarded
        if keep:
            Client.opened.append(self)

    def send(self, method: str, path: str, body=None, headers=None) -> tuple[int, str, bytes]:
        headers = {"Content-Type": "application/json", **(headers or {})}
        if self.forwarded:
            headers["X-Forwarded-For"] = self.forwarded
        data = body if body is None or isinstance(body, bytes) else json.dumps(body)
        self.connection.request(method, path, data, headers)
        answer = self.connection.getresponse()
        sent = answer.status, answer.getheader("Content-Type", ""), answer.read()
        if not self.keep:
            self.connection.close()
        return sent


class Phone:
    """A device of one plan, as the API sees it."""

    def __init__(self, client: Client, plan: dict | None = None):
        self.client = client
        self.plan_id, self.device = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.credential = secrets.token_urlsafe(24)
        self.plan = plan or wire_plan(ZONE)
        self.counter = 0

    def elsewhere(self) -> tuple:
        """What `from_elsewhere` needs to speak for this phone from another process."""
        return (self.client.port, self.client.forwarded, self.plan_id, self.device, self.credential)

    @classmethod
    def from_elsewhere(cls, port, forwarded, plan_id, device, credential) -> Phone:
        phone = cls(Client(port, forwarded))
        phone.plan_id, phone.device, phone.credential = plan_id, device, credential
        return phone

    def register(self) -> int:
        body = {
            "plan_id": self.plan_id,
            "device_id": self.device,
            "credential": self.credential,
            "plan": self.plan,
        }
        return self.client.send("POST", "/api/plans", body)[0]

    def sync(self, events: list[dict], cursor: int = 0) -> tuple[int, str, bytes]:
        return self.sync_body(json.dumps({"events": events, "cursor": cursor}).encode())

    def sync_body(self, body: bytes) -> tuple[int, str, bytes]:
        """A sync with its body already encoded."""
        auth = {"Authorization": f"Bearer {self.device}.{self.credential}"}
        return self.client.send("POST", f"/api/plans/{self.plan_id}/sync", body, auth)

    def tick(self, day: str, item: str) -> dict:
        self.counter += 1
        return {
            "id": secrets.token_urlsafe(12),
            "device": self.device,
            "counter": self.counter,
            "ts": int(time.time() * 1000) - 1000,
            "day": day,
            "item": item,
            "done": True,
        }


def grow(phone: tuple, boxes: list[tuple[str, str]], ready) -> list[tuple[int, str, bytes]]:
    """Tick every box, a full batch to a sync, as the phone `phone` (Phone.elsewhere).

    The requests are encoded before `ready()`, as a flooding tool's would be: the quiet
    plan's times then measure the server rather than this process building JSON.
    """
    big = Phone.from_elsewhere(*phone)
    batches = [
        json.dumps(
            {
                "events": [big.tick(*box) for box in boxes[start : start + merge.MAX_BATCH]],
                "cursor": 0,
            }
        )
        for start in range(0, len(boxes), merge.MAX_BATCH)
    ]
    ready()
    return [big.sync_body(body.encode()) for body in batches]


def flood(phone: tuple, count: int, ready) -> list[tuple[int, str, bytes]]:
    """`count` empty syncs as the phone `phone` (Phone.elsewhere), one after another."""
    spare = Phone.from_elsewhere(*phone)
    ready()
    return [spare.sync([]) for _ in range(count)]


def report(work, args, started, finished, answers) -> None:
    """Run `work(*args, ready)` in this (spawned) process; `ready()` says it starts.

    Work that fails still answers (None), so the test reads its exit code at once
    instead of waiting out the queue's timeout.
    """
    result = None
    try:
        result = work(*args, started.set)
    finally:
        started.set()
        finished.set()
        answers.put(result)


def json_answers_only(answers: list[tuple[int, str, bytes]]) -> None:
    for status, kind, body in answers:
        assert 200 <= status < 500, (status, body[:200])
        assert kind.startswith("application/json"), (status, kind)
        json.loads(body)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("abuse")
    # One proxy believed, as behind a reverse proxy: the "many addresses" floods forward
    # their own; a client sending none counts as 127.0.0.1.
    # The quiet plan here syncs more often than a plan may (120 a minute; that limit has its
    # own test in test_rate_limits.py), so only the per-address limits are the defaults.
    running = RunningServer(
        folder / "data",
        folder / "server.log",
        WORKERS="3",
        PWA_TRUSTED_PROXIES="1",
        PWA_PLAN_SYNC_RATE_LIMIT="100000 per minute",
    ).start()
    yield running
    for client in Client.opened:
        client.connection.close()
    running.stop()
    assert "Traceback" not in running.log()


def test_plan_creation_floods_get_exactly_the_limit_per_address(server):
    alone = Client(server.port)
    answers = [
        Phone(alone).client.send("POST", "/api/plans", _plan_body()) for _ in range(PLAN_FLOOD)
    ]
    json_answers_only(answers)
    assert sum(status == 201 for status, _, _ in answers) == 30
    many = [Client(server.port, f"198.51.100.{n}") for n in range(FORWARDED_CLIENTS)]
    spread = [c.send("POST", "/api/plans", _plan_body()) for _ in range(35) for c in many]
    json_answers_only(spread)
    assert sum(status == 201 for status, _, _ in spread) == 30 * FORWARDED_CLIENTS


def _plan_body() -> dict:
    return {
        "plan_id": secrets.token_urlsafe(16),
        "device_id": secrets.token_urlsafe(16),
        "credential": secrets.token_urlsafe(24),
        "plan": wire_plan(ZONE),
    }


def test_a_login_flood_from_one_address_is_cut_at_its_limit(server):
    client = Client(server.port, "203.0.113.50")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses = [client.send("POST", "/console/login", headers=form)[0] for _ in range(LOGIN_FLOOD)]
    # No CSRF token: refused (400) until the address's limit, then 429; never a 5xx.
    assert statuses[:10] == [400] * 10 and set(statuses[10:]) == {429}


def test_a_plan_grown_to_its_cap_stays_under_the_bound_while_others_sync(server):
    first = plan_today(ZONE) - timedelta(days=3 * 365 - 5)
    big = Phone(
        Client(server.port, "192.0.2.10"),
        wire_plan(ZONE, sessions=[{"day": first.isoformat(), "number": 1}]),
    )
    assert big.register() == 201
    quiet = Phone(Client(server.port, "192.0.2.20"))
    assert quiet.register() == 201
    # The quiet plan syncs in turn on a connection of its own each time, as phones that sync
    # minutes apart do (gunicorn closes a connection idle for 2 s), and on one kept-alive
    # connection, which stays with one worker process: if that is the worker serving the
    # flood, the two share its interpreter lock.  Each sync comes from an address of its
    # own, so the per-address limit (600 a minute) never cuts the measurement short.
    kept = Client(server.port)
    addresses = (f"198.18.{n // 250}.{n % 250}" for n in itertools.count())

    def quiet_sync_ms(on_kept_connection: bool) -> float:
        if on_kept_connection:
            kept.forwarded = next(addresses)
            quiet.client = kept
        else:
            quiet.client = Client(server.port, next(addresses), keep=False)
        started = time.perf_counter()
        status, _, _ = quiet.sync([])
        assert status == 200
        return (time.perf_counter() - started) * 1000

    def p95(took: list[float]) -> float:
        assert len(took) >= 20, f"only {len(took)} syncs to measure"
        return statistics.quantiles(took, n=20)[-1]

    def quiet_p95s(more) -> dict[str, float]:
        """The quiet plan's sync p95 on new and on kept-alive connections, while more()."""
        took: dict[bool, list[float]] = {False: [], True: []}
        for turn in itertools.cycle((False, True)):
            if not more(len(took[True])):
                break
            took[turn].append(quiet_sync_ms(turn))
        return {"new": p95(took[False]), "kept": p95(took[True])}

    def while_running(work, *args) -> tuple[dict[str, float], list]:
        """The quiet plan's sync p95s while `work(*args)` runs, and what the work returned.

        The work runs in a process of its own, as another client would: in this one it
        would hold the interpreter's lock while it builds its requests, and the quiet
        plan's times would measure this test as much as the server.  The quiet plan
        syncs from the moment the work starts until it ends.
        """
        spawn = multiprocessing.get_context("spawn")
        started, finished, answers = spawn.Event(), spawn.Event(), spawn.Queue()
        worker = spawn.Process(target=report, args=(work, args, started, finished, answers))
        worker.start()
        try:
            assert started.wait(timeout=120), "the work never started"
            p95s = quiet_p95s(lambda _: not finished.is_set())
            result = answers.get(timeout=600)
            worker.join(timeout=60)
            assert worker.exitcode == 0
            return p95s, result
        finally:
            worker.terminate()

    before = quiet_p95s(lambda done: done < QUIET_SYNCS)
    items = FILLER_ITEMS
    boxes = [
        ((first + timedelta(days=n // len(items))).isoformat(), items[n % len(items)])
        for n in range(storage.MAX_EVENTS + merge.MAX_BATCH)
    ]
    spare = Phone(Client(server.port, "192.0.2.30"))
    assert spare.register() == 201
    during_growth, grown = while_running(grow, big.elsewhere(), boxes)
    during_flood, flooded = while_running(flood, spare.elsewhere(), SYNC_FLOOD)
    json_answers_only(grown + flooded)
    grow_statuses = [status for status, _, _ in grown]
    assert grow_statuses.count(200) == storage.MAX_EVENTS // merge.MAX_BATCH
    assert grow_statuses[-1] == 409
    syncs = [status for status, _, _ in flooded]
    assert syncs.count(200) == 600 and set(syncs[600:]) <= {429}

    size = (server.data_dir / "plans" / f"{big.plan_id}.json").stat().st_size
    print(f"\nplan at its cap: {size:,} bytes; the quiet plan's sync p95:")
    for kind in before:
        print(
            f"  on {kind} connections: {before[kind]:.1f} ms alone, "
            f"{during_growth[kind]:.1f} ms while a plan grew to its cap "
            f"({during_growth[kind] / before[kind]:.2f}x), "
            f"{during_flood[kind]:.1f} ms under a sync flood "
            f"({during_flood[kind] / before[kind]:.2f}x)"
        )
    assert size < CAPPED_PLAN_BYTES
    if SOAK:
        # The target is within 2x of the quiet figure, for phones (which sync minutes apart,
        # each time on a new connection).  It can only be seen where the load has cores of
        # its own: on two, the flooding client, its worker, the quiet client and its worker
        # share them, and even a flood of empty syncs (the cheapest request there is)
        # measures about 2x (README, "Abuse suite").  There the bound is a guard against
        # the regressions seen before: 500-event batches made it 3.3x, and 25x kept alive.
        bound = 2 if (os.cpu_count() or 1) >= 4 else 4
        for during in (during_growth, during_flood):
            assert during["new"] <= bound * before["new"], (during, before, bound)
