"""Sending the reminders that are due, by Web Push, each exactly once.

The job behind `flask --app pwa reminders send-due` and the scheduler that
`make run` starts beside the web workers.  For every plan with a push
subscription it works out what is due (due.py, from the series and the
synced ticks), claims each reminder in the plan's sent-log under the plan's
lock, so two overlapping runs cannot both send it, and only then sends.  A
send that fails is released for the next run; a subscription the push
service says is gone (404/410) is deleted.  No Flask here.

Plans are sent to side by side (PLANS_AT_ONCE threads): each send may wait up to
its timeout on a slow push service, and one plan's slow subscriptions must not
hold back every other plan's reminders.  A round starts no plan after its time
budget; those plans are left for the next round, and nothing of theirs was claimed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .. import storage
from ..care import series
from . import due
from . import push
from . import push_checks

# A reminder a phone has not shown within this time is stale; let the service drop it.
PUSH_TTL_S = 6 * 60 * 60
# Plans sent to at once: sends mostly wait on the network, so threads are enough.
PLANS_AT_ONCE = 8
# The scheduler runs a round a minute; a round starts no plan after this many seconds.
ROUND_BUDGET_S = 45.0


@dataclass(frozen=True)
class PushSettings:
    key_path: Path
    contact: str
    allowed_hosts: tuple[str, ...]
    quiet_start: str
    quiet_end: str


def send_due(
    store: storage.PlanStore,
    schedules: dict[str, dict],
    settings: PushSettings,
    now: datetime,
    budget_s: float = ROUND_BUDGET_S,
):
    """Send every due reminder not sent before; return counts by outcome (and how many
    plans were "left for the next round")."""
    counts: Counter[str] = Counter()
    guard = threading.Lock()
    deadline = time.monotonic() + budget_s

    def one_plan(plan_id: str) -> None:
        mine: Counter[str] = Counter()
        if time.monotonic() > deadline:
            mine["left for the next round"] += 1
        else:
            try:
                _send_plan(store, plan_id, schedules, settings, now, mine)
            except storage.PlanNotFound:
                pass  # deleted meanwhile
        with guard:
            counts.update(mine)

    with ThreadPoolExecutor(PLANS_AT_ONCE, thread_name_prefix="reminders") as pool:
        # list(): a plan's error is raised here rather than lost in its thread.
        list(pool.map(one_plan, store.plans_with_push()))
    return counts


def _send_plan(store, plan_id, schedules, settings, now, counts) -> None:
    plan = store.get_plan(plan_id)
    subscriptions = store.push_subscriptions(plan_id)
    if plan is None or not subscriptions:
        return
    sessions = series.build(plan, store.session_events(plan_id))
    ticks = store.tick_state(plan_id)
    schedule = schedules[plan["protocol"]["id"]]
    now_ms = int(now.timestamp() * 1000)
    for entry in subscriptions:
        if entry["retry_ms"] > now_ms:
            counts["waiting after failures"] += 1
            continue
        prefs = {"quiet_start": settings.quiet_start, "quiet_end": settings.quiet_end}
        prefs.update(entry["prefs"])
        reminders = due.due_reminders(
            plan=plan, sessions=sessions, ticks=ticks, schedule=schedule, prefs=prefs, now=now
        )
        for reminder in reminders:
            device = entry["device"]
            if not store.claim_reminder(plan_id, reminder.key, device, now_ms):
                counts["already sent"] += 1
                continue
            payload = {"title": reminder.title, "body": reminder.body, "url": reminder.url}
            try:
                outcome = push.send(
                    entry["subscription"],
                    {**payload, "tag": reminder.kind},
                    key_path=settings.key_path,
                    contact=settings.contact,
                    allowed_hosts=settings.allowed_hosts,
                    ttl=PUSH_TTL_S,
                )
            except push_checks.PushError:
                # Stored before the allow-list changed: never POST there again.
                outcome = "gone"
            counts[outcome] += 1
            endpoint = entry["subscription"]["endpoint"]
            if outcome in ("sent", "failed"):
                failed = outcome == "failed"
                store.push_outcome(plan_id, device, endpoint, failed, now_ms)
            if outcome == "failed":
                store.release_reminder(plan_id, reminder.key, device)
                break  # the rest wait with this subscription
            elif outcome == "gone":
                # Not sent: if the device subscribes again, it may still get this one.
                store.release_reminder(plan_id, reminder.key, device)
                store.remove_push(plan_id, device, endpoint)
                break
