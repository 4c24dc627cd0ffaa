"""kill -9 during writes: the plan file always parses and no acknowledged tick is lost.

A writer process syncs new ticks in a loop and prints each event id once
`apply_events` has returned (the moment a real server would answer 200).
The test kills it with SIGKILL at random moments, then checks the file.
40 kills by default; set SOAK_KILLS (e.g. 1000) for a long run.  This tests
process crashes only: the page cache survives, so power loss is not covered.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pwa.storage import FilePlanStore
from pwa.storage.table_file import load_file

ROOT = Path(__file__).resolve().parent.parent
PLAN_ID = "plan-crash-0123456789"
DEVICE = "crash-writer"
# About a busy plan's 2,000 boxes (each event here has a box of its own, so the plan's
# compaction keeps every one), so each write is a few hundred KB and a kill often lands
# inside it.
PREFILL = 2000

WRITER = """
import random, sys, time
from pwa import storage
from pwa.storage import FilePlanStore

folder, plan_id, device, run = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = FilePlanStore(folder)
for n in range(10**9):
    now = int(time.time() * 1000)
    event = {"id": f"r{run:05d}-{n:07d}", "device": device, "counter": run * 10**7 + n,
             "ts": now, "day": f"2026-01-{n % 28 + 1:02d}", "item": f"r{run}-{n}",
             "done": random.random() < 0.5}
    store.apply_events(plan_id, device, [event], now)
    print(event["id"], flush=True)
    if n % 3 == 0:
        # Plans shrink as well as grow, the case that breaks an in-place rewrite.
        store.update_plan(plan_id, {"note": "x" * random.randrange(0, 4000)})
"""


def prefill(store: FilePlanStore) -> None:
    store.create_plan(PLAN_ID, {"note": ""}, DEVICE, "h", 0)
    for start in range(0, PREFILL, 500):
        batch = [
            {
                "id": f"prefill-{n:06d}",
                "device": DEVICE,
                "counter": n,
                "ts": n,
                "day": f"2026-01-{n % 28 + 1:02d}",
                "item": f"prefill-{n}",
                "done": n % 3 == 0,
            }
            for n in range(start, start + 500)
        ]
        store.apply_events(PLAN_ID, DEVICE, batch, 0)


def run_and_kill(folder: Path, run: int, rng: random.Random) -> tuple[list[str], str]:
    """Start a writer, kill it at a random moment after its first ack; return acked ids."""
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), PLAN_ID, DEVICE, str(run)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as writer:
        first = writer.stdout.readline()
        if first:
            time.sleep(rng.uniform(0, 0.15))
        writer.send_signal(signal.SIGKILL)
        rest, errors = writer.communicate(timeout=30)
    assert first, f"writer died before its first tick:\n{errors}"
    assert writer.returncode == -signal.SIGKILL, errors
    # A line cut off by the kill was never acknowledged.
    acked = [line for line in (first + rest).splitlines(keepends=True) if line.endswith("\n")]
    return [line.strip() for line in acked], errors


def test_kill_9_never_corrupts_the_plan_or_loses_an_acknowledged_tick(tmp_path):
    kills = int(os.environ.get("SOAK_KILLS", "40"))
    seed = int(os.environ.get("SOAK_SEED", str(random.randrange(2**32))))
    rng = random.Random(seed)
    store = FilePlanStore(tmp_path)
    prefill(store)
    acked_total, started = 0, time.monotonic()
    acked_ever: set[str] = set()
    for run in range(kills):
        acked, _ = run_and_kill(tmp_path, run, rng)
        acked_ever.update(acked)
        acked_total += len(acked)
        load_file(tmp_path / f"{PLAN_ID}.json")  # raises if the kill left a torn file
        events, cursor = store.changes_since(PLAN_ID, 0)
        stored = {event["id"] for event in events}
        assert acked_ever <= stored, f"seed {seed}, kill {run}: lost {acked_ever - stored}"
        # The events and the plan's counter were written together, or not at all.
        assert cursor == len(events) == len(stored), f"seed {seed}, kill {run}"
    leftovers = store.files.remove_stale_temp_files(older_than_s=0)
    assert store.files.plan_ids() == [PLAN_ID]
    assert sorted(os.listdir(tmp_path)) == [f"{PLAN_ID}.json", f"{PLAN_ID}.json.lock"]
    print(
        f"\n{kills} kills, {acked_total} acknowledged ticks, {cursor} stored events, "
        f"{leftovers} temp files left by kills, {time.monotonic() - started:.1f} s, seed {seed}"
    )
