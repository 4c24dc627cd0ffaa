"""Sync throughput under load, as a ratio to a minimal Flask endpoint served the same way.

Both run under gunicorn with 4 sync workers on this machine, in the same run, and
Apache Bench (`ab`, Debian's apache2-utils) sends the same POST to each from 16
concurrent clients: a sync of 5 tick events with a valid device credential.  After
the first request the events are known, so each sync is what a phone's retry or
poll costs: authenticate, validate, check the events fit the plan, take the plan's
file lock, find the events already stored, record the device's last sync (one
atomic file write) and answer the changes since its cursor.  All requests go to one
plan, the worst case for its lock.  Warm-up first, then two alternating rounds of
3,000 requests each; medians are reported.

Budget: sync requests per second >= 0.5 x the minimal endpoint's.
Usage: `.venv/bin/python bench/server_load.py` (make bench).  About 1 minute.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from report import write_report  # noqa: E402
from support import ROOT  # noqa: E402
from support import RunningServer  # noqa: E402
from support import clean_environment  # noqa: E402
from support import free_port  # noqa: E402
from support import generous_limits_environment  # noqa: E402

AB = shutil.which("ab")
REQUESTS, CONCURRENCY, WARM_UP, ROUNDS = 3000, 16, 300, 2
TARGET_RATIO = 0.5


def post(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            post(url, {"events": []})
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def ab(url: str, body_file: Path, headers: list[str], requests: int) -> dict:
    command = [
        AB,
        "-q",
        "-n",
        str(requests),
        "-c",
        str(CONCURRENCY),
        "-p",
        str(body_file),
        "-T",
        "application/json",
    ]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    failed = int(re.search(r"Failed requests:\s+(\d+)", output).group(1))
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", output)
    return {
        "rps": float(re.search(r"Requests per second:\s+([\d.]+)", output).group(1)),
        "p95_ms": float(re.search(r"^\s*95%\s+(\d+)", output, re.MULTILINE).group(1)),
        "errors": failed + (int(non_2xx.group(1)) if non_2xx else 0),
    }


def main() -> int:
    if AB is None:
        print("ab (Apache Bench) is missing: apt-get install apache2-utils")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    # ab sends from one address what thousands of phones would: the sync limit is raised,
    # and each sync still pays for its counter hit.
    app = RunningServer(
        work / "data",
        work / "server.log",
        WORKERS="4",
        REMINDERS="0",
        **generous_limits_environment(),
    ).start()
    port = free_port()
    # Served the same way: the project's gunicorn.conf.py (access log and all), 4 workers,
    # only the app differs.  Its master also builds the real app once; no scheduler.
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    minimal = subprocess.Popen(
        [
            gunicorn,
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "-w",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "bench"),
            "minimal_app:app",
        ],
        env=clean_environment(DATA_DIR=str(work / "minimal-data"), REMINDERS="0"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/sync")
        plan_id, device, credential = (
            secrets.token_urlsafe(16),
            secrets.token_urlsafe(12),
            secrets.token_urlsafe(24),
        )
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 3600))
        plan = {
            "time_zone": "UTC",
            "day_start_hour": 3,
            "sessions": [{"day": today, "number": 1}],
            "next_session": None,
            "planned_sessions": 3,
            "skin_type": "not-sure",
            "pih_history": "not-sure",
            "mode": "pih_risk",
            "protocol": {"id": "microneedling-default", "version": 1},
        }
        post(
            app.url + "/api/plans",
            {"plan_id": plan_id, "device_id": device, "credential": credential, "plan": plan},
        )
        now = int(time.time() * 1000)
        events = [
            {
                "id": f"bench-event-{n}",
                "device": device,
                "counter": n,
                "ts": now + n,
                "day": today,
                "item": item,
                "done": True,
            }
            for n, item in enumerate(
                [
                    "hands-off",
                    "no-alcohol",
                    "clinic-products-only",
                    "gentle-cleanse-evening",
                    "hands-off",
                ],
                1,
            )
        ]
        auth = {"Authorization": f"Bearer {device}.{credential}"}
        cursor = post(f"{app.url}/api/plans/{plan_id}/sync", {"events": events, "cursor": 0}, auth)[
            "cursor"
        ]
        body = work / "body.json"
        body.write_text(json.dumps({"events": events, "cursor": cursor}))
        targets = {
            "sync": (
                f"{app.url}/api/plans/{plan_id}/sync",
                [f"Authorization: {auth['Authorization']}"],
            ),
            "minimal": (f"http://127.0.0.1:{port}/sync", []),
        }
        for url, headers in targets.values():
            ab(url, body, headers, WARM_UP)
        runs = {name: [] for name in targets}
        for _ in range(ROUNDS):
            for name, (url, headers) in targets.items():
                runs[name].append(ab(url, body, headers, REQUESTS))
    finally:
        app.stop()
        os.killpg(minimal.pid, 15)
        minimal.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)

    median = {
        name: {key: statistics.median(r[key] for r in results) for key in ("rps", "p95_ms")}
        for name, results in runs.items()
    }
    errors = sum(r["errors"] for results in runs.values() for r in results)
    ratio = median["sync"]["rps"] / median["minimal"]["rps"]
    print(f"{'':34} {'req/s':>8} {'p95':>8}")
    for name in ("sync", "minimal"):
        label = "POST /api/plans/<id>/sync" if name == "sync" else "minimal Flask endpoint"
        print(f"{label:34} {median[name]['rps']:8.1f} {median[name]['p95_ms']:6.0f} ms")
    verdict = "PASS" if ratio >= TARGET_RATIO and errors == 0 else "FAIL"
    print(
        f"{'sync / minimal throughput':34} {ratio:8.2f}x   target >= {TARGET_RATIO}x, "
        f"errors {errors}   {verdict}"
    )
    rows = [
        {
            "name": "sync_throughput_ratio",
            "measured": round(ratio, 3),
            "target": f">= {TARGET_RATIO}",
            "pass": verdict == "PASS",
            "sync_rps": median["sync"]["rps"],
            "sync_p95_ms": median["sync"]["p95_ms"],
            "minimal_rps": median["minimal"]["rps"],
            "minimal_p95_ms": median["minimal"]["p95_ms"],
            "errors": errors,
        }
    ]
    return write_report(
        "server_load",
        rows,
        workers=4,
        concurrency=CONCURRENCY,
        requests_per_round=REQUESTS,
        rounds=ROUNDS,
    )


if __name__ == "__main__":
    sys.exit(main())
