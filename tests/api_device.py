"""A phone as the API sees it, for tests: its own device id and credential, its events.

The test modules that talk to the API through the real app (sync, calendar,
reminders, an offline week) build on this rather than each writing their own.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from pwa.care.days import local_day

PROTOCOL_ID = "microneedling-default"


def plan_today(zone: str) -> date:
    """The plan's current day in `zone` (day start 03:00)."""
    return local_day(datetime.now(UTC), zone, 3)


def wire_plan(zone: str, **changes) -> dict:
    """A plan as a phone registers it: last session 3 days ago, the next in 25 days."""
    today = plan_today(zone)
    return {
        "time_zone": zone,
        "day_start_hour": 3,
        "sessions": [{"day": (today - timedelta(days=3)).isoformat(), "number": 1}],
        "next_session": (today + timedelta(days=25)).isoformat(),
        "planned_sessions": 4,
        "skin_type": "not-sure",
        "pih_history": "not-sure",
        "mode": "pih_risk",
        "protocol": {"id": PROTOCOL_ID, "version": 1},
        **changes,
    }


class ApiDevice:
    """One device talking to the API through a Flask test client."""

    def __init__(self, client, plan_id: str | None = None):
        self.client = client
        self.plan_id = plan_id or secrets.token_urlsafe(16)
        self.id = secrets.token_urlsafe(16)
        self.credential = secrets.token_urlsafe(24)
        self.counter = 0

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.id}.{self.credential}"}

    def post_plan(self, plan: dict):
        body = {
            "plan_id": self.plan_id,
            "device_id": self.id,
            "credential": self.credential,
            "plan": plan,
        }
        return self.client.post("/api/plans", json=body)

    def new_event(self, **fields) -> dict:
        """A tick or session event from this device, with the next counter; `fields` win."""
        self.counter += 1
        return {
            "id": secrets.token_urlsafe(12),
            "device": self.id,
            "counter": self.counter,
            "ts": int(time.time() * 1000) + self.counter,
            **fields,
        }

    def post_sync(self, events: list[dict], cursor: int = 0, headers: dict | None = None):
        return self.client.post(
            f"/api/plans/{self.plan_id}/sync",
            json={"events": events, "cursor": cursor},
            headers=headers or self.auth,
        )
