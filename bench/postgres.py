"""The PostgreSQL backend under load, against the embedded files in the same run.

1. Throughput: `make run` (4 workers) on the files and on PostgreSQL, each sent the same
   replayed sync by Apache Bench from 16 concurrent clients (bench/server_load.py's
   request: 5 known ticks, one plan).  Budget: PostgreSQL >= 0.8 x the files' req/s.
   While it runs, the CPU time of the app's processes and of PostgreSQL's is read from
   /proc, per sync: what one more host would need, projected.  This machine has two
   cores, so adding hosts here cannot show a speed-up.
2. Sync write p95 against the number of plans: 100, 10,000, 100,000 and 1,000,000 plans
   made in bulk by SQL (`generate_series`); a filler plan holds its plan, one device and
   FILLER_TICKS ticks.  Each size: 400 writes of one new tick to random plans from 4
   client threads after 100 unmeasured ones.  Budget: p95 <= 1.5 x the 100-plan p95.

Usage: `.venv/bin/python bench/postgres.py` (make bench).  Needs PostgreSQL on
127.0.0.1:5432 (the tests' server); makes a database of its own and drops it after.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
from postgres_db import TestDatabase  # noqa: E402
from report import write_report  # noqa: E402
from server_load import AB  # noqa: E402
from server_load import CONCURRENCY  # noqa: E402
from server_load import ab  # noqa: E402
from server_load import post  # noqa: E402
from support import RunningServer  # noqa: E402
from support import generous_limits_environment  # noqa: E402
from sync_write import SESSION_DAYS_AGO  # noqa: E402
from sync_write import THREADS  # noqa: E402
from sync_write import TIME_ZONE  # noqa: E402
from sync_write import day  # noqa: E402
from sync_write import hammer  # noqa: E402
from sync_write import percentile  # noqa: E402

from pwa.sync.devices import digest  # noqa: E402

REQUESTS, WARM_UP, ROUNDS = 3000, 300, 2
THROUGHPUT_TARGET = 0.8
SIZES = (100, 10_000, 100_000, 1_000_000)
WRITES, WRITES_WARM_UP = 400, 100
FLAT = 1.5
FILLER_TICKS = 5
TICKS = ["hands-off", "no-alcohol", "clinic-products-only", "gentle-cleanse-evening"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def today() -> str:
    return day(0)


def new_plan() -> dict:
    """A plan started SESSION_DAYS_AGO, as sync_write.py's, in its time zone."""
    return {
        "time_zone": TIME_ZONE,
        "day_start_hour": 3,
        "sessions": [{"day": day(SESSION_DAYS_AGO), "number": 1}],
        "next_session": None,
        "planned_sessions": 3,
        "skin_type": "not-sure",
        "pih_history": "not-sure",
        "mode": "pih_risk",
        "protocol": {"id": "microneedling-default", "version": 1},
    }


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def process_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                continue
    return pids


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def throughput(work: Path, database: TestDatabase) -> dict:
    """req/s and CPU per sync of the replayed sync on the files and on PostgreSQL."""
    results = {}
    for name, extra in (("files", {}), ("postgres", {"DATABASE_URL": database.url})):
        server = RunningServer(
            work / name,
            work / f"{name}.log",
            WORKERS="4",
            REMINDERS="0",
            **generous_limits_environment(),
            **extra,
        ).start()
        try:
            plan_id, device = secrets.token_urlsafe(16), secrets.token_urlsafe(12)
            credential = secrets.token_urlsafe(24)
            post(
                server.url + "/api/plans",
                {
                    "plan_id": plan_id,
                    "device_id": device,
                    "credential": credential,
                    "plan": new_plan(),
                },
            )
            now = int(time.time() * 1000)
            events = [
                {
                    "id": f"bench-event-{n}",
                    "device": device,
                    "counter": n,
                    "ts": now - 1000 + n,
                    "day": today(),
                    "item": item,
                    "done": True,
                }
                for n, item in enumerate([*TICKS, "hands-off"], 1)
            ]
            auth = f"Bearer {device}.{credential}"
            url = f"{server.url}/api/plans/{plan_id}/sync"
            cursor = post(url, {"events": events, "cursor": 0}, {"Authorization": auth})["cursor"]
            body = work / f"{name}-body.json"
            body.write_text(json.dumps({"events": events, "cursor": cursor}))
            headers = [f"Authorization: {auth}"]
            ab(url, body, headers, WARM_UP)
            app_pids = process_group(server.process.pid)
            runs, app_cpu, db_cpu = [], 0.0, 0.0
            for _ in range(ROUNDS):
                app_before, db_before = cpu_seconds(app_pids), cpu_seconds(postgres_pids())
                runs.append(ab(url, body, headers, REQUESTS))
                app_cpu += cpu_seconds(app_pids) - app_before
                db_cpu += cpu_seconds(postgres_pids()) - db_before
        finally:
            server.stop()
        syncs = REQUESTS * ROUNDS
        results[name] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p95_ms": statistics.median(r["p95_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "app_cpu_ms_per_sync": round(1000 * app_cpu / syncs, 3),
            "db_cpu_ms_per_sync": round(1000 * db_cpu / syncs, 3),
        }
    return results


class Filler:
    """Plans made in bulk by SQL, all with one device id and credential (as sync_write.py's
    copies of one plan file), so a client can write to any of them."""

    def __init__(self, database: TestDatabase) -> None:
        self.url = database.url.replace("postgresql+psycopg://", "postgresql://")
        self.device = secrets.token_urlsafe(16)
        self.credential = secrets.token_urlsafe(24)
        self.made = 0
        self.plan_ids: list[str] = []
        self.cursor = FILLER_TICKS
        self.counter = 1_000

    def grow(self, size: int) -> float:
        started = time.monotonic()
        plan = json.dumps(new_plan())
        now = int(time.time() * 1000)
        with psycopg.connect(self.url, autocommit=True) as connection:
            first, last = self.made + 1, size
            connection.execute(
                "INSERT INTO plans (plan_id, plan, seq, event_count, created_ms) "
                "SELECT 'filler-plan-' || lpad(n::text, 8, '0'), %s::jsonb, %s, %s, %s "
                "FROM generate_series(%s::int, %s::int) AS n",
                (plan, FILLER_TICKS, FILLER_TICKS, now, first, last),
            )
            connection.execute(
                "INSERT INTO devices (plan_id, device_id, number, name, credential_hash, "
                "added_ms, last_seen_ms, revoked) "
                "SELECT 'filler-plan-' || lpad(n::text, 8, '0'), %s, 1, '', %s, %s, %s, false "
                "FROM generate_series(%s::int, %s::int) AS n",
                (self.device, digest(self.credential), now, now, first, last),
            )
            connection.execute(
                "INSERT INTO events (plan_id, event_id, seq, device, counter, ts, day, item, "
                "done) "
                "SELECT 'filler-plan-' || lpad(n::text, 8, '0'), 'filler-event-' || t, t, %s, "
                "t, %s - 1000 + t, %s, (%s::text[])[t], true "
                "FROM generate_series(%s::int, %s::int) AS n, generate_series(1, %s::int) AS t",
                (self.device, now, today(), [*TICKS, "moisturise"], first, last, FILLER_TICKS),
            )
            connection.execute("VACUUM ANALYZE")
            connection.execute("CHECKPOINT")
        self.plan_ids += [f"filler-plan-{n:08d}" for n in range(first, last + 1)]
        self.made = size
        return time.monotonic() - started

    def event(self, tick_day: str, item: str, ts: int) -> dict:
        self.counter += 1
        return {
            "id": secrets.token_urlsafe(12),
            "device": self.device,
            "counter": self.counter,
            "ts": ts - 1000,
            "day": tick_day,
            "item": item,
            "done": True,
        }


def write_latency(work: Path, database: TestDatabase) -> list[dict]:
    database.empty()
    filler = Filler(database)
    measured = []
    server = RunningServer(
        work / "latency",
        work / "latency.log",
        WORKERS="4",
        REMINDERS="0",
        DATABASE_URL=database.url,
        **generous_limits_environment(),
    )
    for size in SIZES:
        build_s = filler.grow(size)
        server.start()
        try:
            hammer(server, filler, WRITES_WARM_UP)
            latencies, wall_s, failures = hammer(server, filler, WRITES)
        finally:
            server.stop()
        with psycopg.connect(filler.url) as connection:
            hit = connection.execute(
                "SELECT sum(blks_hit)::float / nullif(sum(blks_hit) + sum(blks_read), 0) "
                "FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()[0]
        measured.append((size, latencies, wall_s, failures, build_s, hit))
        print(f"  {size:>9,} plans: filled in {build_s:.0f} s, measured in {wall_s:.1f} s")
    baseline = percentile(measured[0][1], 95)
    rows = []
    for size, latencies, wall_s, failures, build_s, hit in measured:
        ratio = percentile(latencies, 95) / baseline
        rows.append(
            {
                "name": f"postgres_sync_write_{size}",
                "plans": size,
                "requests": len(latencies),
                "p50_ms": round(statistics.median(latencies) * 1000, 2),
                "p95_ms": round(percentile(latencies, 95) * 1000, 2),
                "p95_over_smallest": round(ratio, 3),
                "requests_per_s": round(len(latencies) / wall_s, 1),
                "error_count": len(failures),
                "errors": failures[:5],
                "buffer_hit_ratio": round(hit or 0, 4),
                "fill_s": round(build_s, 1),
                "target": f"p95 <= {FLAT:g} x p95 with {SIZES[0]:,} plans",
                "pass": ratio <= FLAT and not failures and len(latencies) == WRITES,
            }
        )
    return rows


def main() -> int:
    if AB is None:
        print("ab (Apache Bench) is missing: apt-get install apache2-utils")
        return 1
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    database = TestDatabase()
    try:
        load = throughput(work, database)
        latency = write_latency(work, database)
    finally:
        database.drop()
        shutil.rmtree(work, ignore_errors=True)
    ratio = load["postgres"]["rps"] / load["files"]["rps"]
    errors = load["postgres"]["errors"] + load["files"]["errors"]
    print(f"{'':28} {'req/s':>8} {'p95':>7} {'app CPU/sync':>13} {'PostgreSQL CPU/sync':>20}")
    for name in ("files", "postgres"):
        r = load[name]
        print(
            f"{'sync on ' + name:28} {r['rps']:8.1f} {r['p95_ms']:5.0f} ms "
            f"{r['app_cpu_ms_per_sync']:10.3f} ms {r['db_cpu_ms_per_sync']:17.3f} ms"
        )
    print(f"PostgreSQL / files: {ratio:.2f}x (target >= {THROUGHPUT_TARGET}x)")
    for row in latency:
        print(
            f"{row['plans']:>9,} plans: p95 {row['p95_ms']:.1f} ms "
            f"({row['p95_over_smallest']:.2f}x), buffer hits {row['buffer_hit_ratio']:.1%}"
        )
    rows = [
        {
            "name": "postgres_throughput_ratio",
            "measured": round(ratio, 3),
            "target": f">= {THROUGHPUT_TARGET}",
            "pass": ratio >= THROUGHPUT_TARGET and errors == 0,
            "files": load["files"],
            "postgres": load["postgres"],
        },
        *latency,
    ]
    print(f"took {time.monotonic() - started:.0f} s")
    return write_report(
        "postgres",
        rows,
        concurrency=CONCURRENCY,
        requests_per_round=REQUESTS,
        rounds=ROUNDS,
        client_threads=THREADS,
        filler_plan=f"the plan, one device and {FILLER_TICKS} ticks",
    )


if __name__ == "__main__":
    sys.exit(main())
