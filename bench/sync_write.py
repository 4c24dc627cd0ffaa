"""Server sync-write latency against the number of plans on disk, measured against `make run`
(gunicorn, 4 workers, the real TinyDB files).

Prints a table and writes bench/results/sync_write.json.  Budget: flat
- p95 of a sync write (POST /api/plans/<id>/sync carrying one new tick) with 10,000 and
  with 100,000 plans on disk <= 1.5 x its p95 with 100 plans
Each size gets 400 writes to randomly chosen plans from 4 client threads (http.client,
keep-alive where the server allows it; gunicorn's sync workers close after each
answer), after 100 unmeasured ones.
Plans: one is made through the repository (a plan started 15 days ago with 14 days x
12 items = 168 tick events), and its file is copied under fresh plan ids, each with
the lock file the repository leaves beside a plan it created; one device id and
credential are valid for all of them.  The folder is flushed to disk (sync(2)) before
each size is measured, so no write waits behind the copying, and the server is started
afresh for each size.  Takes 1-3 minutes and about 3 GB of temporary disk, removed at
the end.
Usage: `.venv/bin/python bench/sync_write.py`.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import queue
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from report import write_report  # noqa: E402
from support import RunningServer  # noqa: E402
from support import generous_limits_environment  # noqa: E402

from pwa.care import plans  # noqa: E402
from pwa.care.days import DEFAULT_DAY_START_HOUR  # noqa: E402
from pwa.care.days import local_day  # noqa: E402
from pwa.care.protocol import load_protocols  # noqa: E402
from pwa.storage import FilePlanStore  # noqa: E402
from pwa.sync.devices import digest  # noqa: E402

SIZES = (100, 10_000, 100_000)
REQUESTS = 400
WARM_UP = 100
THREADS = 4
WORKERS = "4"
FLAT = 1.5
TIME_ZONE = "Europe/London"
PROTOCOL = {"id": "microneedling-default", "version": 1}
HISTORY_DAYS = 14
ITEMS_PER_DAY = 12
# Far from the 03:00 day start at either end: history on days -15..-2 of a plan started
# 15 days ago, the measured ticks on day -2.
SESSION_DAYS_AGO = 15
TICK_DAYS_AGO = 2


def day(days_ago: int) -> str:
    today = local_day(datetime.now(UTC), TIME_ZONE, DEFAULT_DAY_START_HOUR)
    return (today - timedelta(days=days_ago)).isoformat()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Fleet:
    """Plan files in a store folder, all copies of one plan that one device may sync to."""

    def __init__(self, folder: Path):
        self.store = FilePlanStore(folder)
        self.device = secrets.token_urlsafe(16)
        self.credential = secrets.token_urlsafe(24)
        self.counter = itertools.count(1)
        now_ms = int(time.time() * 1000)
        plan = {
            "time_zone": TIME_ZONE,
            "day_start_hour": DEFAULT_DAY_START_HOUR,
            "sessions": [{"day": day(SESSION_DAYS_AGO), "number": 1}],
            "next_session": day(-13),
            "planned_sessions": 4,
            "skin_type": "not-sure",
            "pih_history": "not-sure",
            "mode": "pih_risk",
            "protocol": PROTOCOL,
        }
        protocols = load_protocols()
        plans.check_plan(plan, protocols)  # exactly what the API would accept
        self.items = [item["id"] for item in protocols[PROTOCOL["id"]]["items"]]
        first = secrets.token_urlsafe(16)
        self.store.create_plan(first, plan, self.device, digest(self.credential), now_ms)
        for offset in range(HISTORY_DAYS):
            days_ago = SESSION_DAYS_AGO - offset
            events = [
                self.event(day(days_ago), item, now_ms - days_ago * 86_400_000)
                for item in self.items[:ITEMS_PER_DAY]
            ]
            self.cursor = self.store.apply_events(first, self.device, events, now_ms)
        self.template = (folder / f"{first}.json").read_bytes()
        self.plan_ids = [first]

    def event(self, tick_day: str, item: str, ts: int) -> dict:
        return {
            "id": secrets.token_urlsafe(12),
            "device": self.device,
            "counter": next(self.counter),
            "ts": ts,
            "day": tick_day,
            "item": item,
            "done": True,
        }

    def grow(self, size: int) -> float:
        """Copy the first plan's file under new ids until there are `size` plans, flush
        the disk; return the seconds it took."""
        started = time.monotonic()
        # Bulk filling is the file backend's own: copies of one plan's file.
        folder = self.store.files.folder
        while len(self.plan_ids) < size:
            plan_id = secrets.token_urlsafe(16)
            fd = os.open(folder / f"{plan_id}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, self.template)
            finally:
                os.close(fd)
            os.close(os.open(folder / f"{plan_id}.json.lock", os.O_WRONLY | os.O_CREAT, 0o600))
            self.plan_ids.append(plan_id)
        os.sync()
        return time.monotonic() - started


def hammer(server: RunningServer, fleet: Fleet, count: int) -> tuple[list[float], float, list]:
    """`count` sync writes to random plans from THREADS threads; per-request seconds, the
    wall-clock seconds of the whole run, and any failures."""
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(count):
        jobs.put(random.choice(fleet.plan_ids))
    cursors: dict[str, int] = {}
    latencies: list[float] = []
    failures: list = []
    headers = {
        "Authorization": f"Bearer {fleet.device}.{fleet.credential}",
        "Content-Type": "application/json",
    }

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            while True:
                try:
                    plan_id = jobs.get_nowait()
                except queue.Empty:
                    return
                event = fleet.event(day(TICK_DAYS_AGO), "hands-off", int(time.time() * 1000))
                cursor = cursors.get(plan_id, fleet.cursor)
                body = json.dumps({"events": [event], "cursor": cursor})
                started = time.perf_counter()
                try:
                    connection.request("POST", f"/api/plans/{plan_id}/sync", body, headers)
                    response = connection.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    failures.append(repr(error))
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    failures.append(f"{response.status}: {answer[:200]!r}")
                    continue
                answer = json.loads(answer)
                if answer["acknowledged"] != [event["id"]]:
                    failures.append(f"not acknowledged: {answer['acknowledged']}")
                cursors[plan_id] = answer["cursor"]
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, failures


def main() -> int:
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="bench-sync-write-"))
    measured = []
    try:
        data = folder / "data"
        fleet = Fleet(data / "plans")
        print(f"plan file: {len(fleet.template):,} bytes, {HISTORY_DAYS * ITEMS_PER_DAY} events")
        # Many phones' syncs from one address: the sync limit is raised, not switched off.
        server = RunningServer(
            data, folder / "server.log", WORKERS=WORKERS, **generous_limits_environment()
        )
        for size in SIZES:
            build_s = fleet.grow(size)
            # A fresh server per size: none sits idle through the copying and flushing.
            server.start()
            try:
                hammer(server, fleet, WARM_UP)
                latencies, wall_s, failures = hammer(server, fleet, REQUESTS)
                if server.process.poll() is not None or len(failures) == REQUESTS:
                    tail = "\n".join(server.log().splitlines()[-30:])
                    raise RuntimeError(
                        f"the server stopped answering at {size:,} plans "
                        f"(exit code {server.process.poll()}): {failures[:3]}\n{tail}"
                    )
            finally:
                server.stop()
            measured.append((size, latencies, wall_s, failures, build_s))
            print(f"  {size:>7,} plans: built in {build_s:.1f} s, measured in {wall_s:.1f} s")
        plan_bytes = len(fleet.template)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    baseline = percentile(measured[0][1], 95)
    rows = []
    print(
        f"{'plans':>8} {'requests':>8} {'p50':>8} {'p95':>8} {'max':>8} {'req/s':>7} "
        f"{'errors':>6} {'p95 vs ' + format(SIZES[0], ','):>11}  result"
    )
    for size, latencies, wall_s, failures, build_s in measured:
        p50 = statistics.median(latencies) * 1000
        p95 = percentile(latencies, 95) * 1000
        worst = max(latencies) * 1000
        ratio = percentile(latencies, 95) / baseline
        ok = ratio <= FLAT and not failures and len(latencies) == REQUESTS
        rows.append(
            {
                "plans": size,
                "requests": len(latencies),
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "max_ms": round(worst, 2),
                "requests_per_s": round(len(latencies) / wall_s, 1),
                "p95_over_smallest": round(ratio, 3),
                "target": f"p95 <= {FLAT:g} x p95 with {SIZES[0]:,} plans",
                "errors": failures[:10],
                "error_count": len(failures),
                "build_s": round(build_s, 1),
                "pass": ok,
            }
        )
        print(
            f"{size:>8,} {len(latencies):>8} {p50:5.1f} ms {p95:5.1f} ms {worst:5.1f} ms "
            f"{len(latencies) / wall_s:7.1f} {len(failures):>6} {ratio:10.2f}x  "
            f"{'PASS' if ok else 'FAIL'}"
        )
        for failure in failures[:3]:
            print(f"         {failure}")
    elapsed = time.monotonic() - started
    print(f"took {elapsed:.0f} s")
    return write_report(
        "sync_write",
        rows,
        cpus=os.cpu_count(),
        seconds=round(elapsed, 1),
        workers=int(WORKERS),
        client_threads=THREADS,
        plan_file_bytes=plan_bytes,
        events_per_plan=HISTORY_DAYS * ITEMS_PER_DAY,
    )


if __name__ == "__main__":
    sys.exit(main())
