"""`flask --app pwa plans purge`: plans with no activity for RETENTION_DAYS go, others stay."""

from __future__ import annotations

import subprocess
import time

from support import ROOT
from support import clean_environment

from pwa import create_app

DAY_MS = 24 * 60 * 60 * 1000


def purge(data_dir, *args, **env):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "pwa", "plans", "purge", *args],
        env=clean_environment(DATA_DIR=str(data_dir), **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def make_plan(store, plan_id, last_seen_days_ago):
    now = int(time.time() * 1000)
    plan = {"sessions": [{"day": "2026-01-05", "number": 1}]}
    then = now - last_seen_days_ago * DAY_MS
    store.create_plan(plan_id, plan, "device-0001", "hash", then)


def test_purge_deletes_only_plans_idle_longer_than_the_retention(data_dir):
    store = create_app({"DATA_DIR": data_dir}).extensions["plans"]
    make_plan(store, "old-plan-000000001", 400)
    make_plan(store, "fresh-plan-0000001", 10)

    off = purge(data_dir)
    assert off.returncode == 0 and "retention is off" in off.stdout
    assert store.plan_exists("old-plan-000000001")

    dry = purge(data_dir, "--dry-run", PWA_RETENTION_DAYS="365")
    assert dry.returncode == 0 and "would delete 1 plans" in dry.stdout, dry.stderr
    assert store.plan_exists("old-plan-000000001")

    real = purge(data_dir, PWA_RETENTION_DAYS="365")
    assert real.returncode == 0 and "deleted 1 plans" in real.stdout, real.stderr
    assert not store.plan_exists("old-plan-000000001")
    assert store.plan_exists("fresh-plan-0000001")


def test_a_sync_counts_as_activity(data_dir):
    store = create_app({"DATA_DIR": data_dir}).extensions["plans"]
    make_plan(store, "synced-plan-000001", 400)
    # The device synced yesterday: apply_events records when it was last seen.
    yesterday = int(time.time() * 1000) - DAY_MS
    tick = {
        "id": "tick-000001",
        "device": "device-0001",
        "counter": 1,
        "ts": yesterday,
        "day": "2026-01-06",
        "item": "hands-off",
        "done": True,
    }
    store.apply_events("synced-plan-000001", "device-0001", [tick], yesterday)
    result = purge(data_dir, "--days", "30")
    assert "deleted 0 plans" in result.stdout, result.stderr
    assert store.plan_exists("synced-plan-000001")
