"""A phone offline for a week comes back: every tick and session edit arrives, merges with what
another device did meanwhile, and the plan keeps each box's winner once, through the real API
and TinyDB files."""

from __future__ import annotations

import random
import time

import pytest
from support import assert_nothing_lost
from test_api import Device
from test_api import new_plan
from test_api import today

from pwa.care import series

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

DAY_MS = 24 * 60 * 60 * 1000
ITEMS = ["hands-off", "no-alcohol", "gentle-cleanse-evening", "clinic-products-only"]


def tick(device, day, item, done, ts):
    return device.new_event(ts=ts, day=day, item=item, done=done)


def session_edit(device, session, day, status, ts):
    return device.new_event(ts=ts, session=session, day=day, time=None, status=status)


def winner(events, key):
    """The reference rule, written out again: the greatest (ts, device, counter, id) wins."""
    return (
        max(events, key=lambda e: (e["ts"], e["device"], e["counter"], e["id"])) if events else key
    )


def test_a_week_offline_arrives_once_and_merges_with_the_other_device(client):
    rng = random.Random(7)
    plan = new_plan(sessions=[{"day": today(-10), "number": 1}], next_session=today(20))
    phone = Device(client)
    assert phone.register(plan).status_code == 201
    token = client.post(f"/api/plans/{phone.plan_id}/join-tokens", headers=phone.auth).get_json()
    tablet = Device(client, plan_id=phone.plan_id)
    joined = client.post(
        "/api/join",
        json={
            "plan_id": phone.plan_id,
            "token": token["link"].rsplit(".", 1)[1],
            "device_id": tablet.id,
            "credential": tablet.credential,
        },
    )
    assert joined.status_code == 200

    now = int(time.time() * 1000)
    offline = []  # the phone's outbox over 7 days, oldest first
    for back in range(7, -1, -1):
        moment = now - back * DAY_MS - 2 * 60 * 60 * 1000  # never ahead of the server clock
        for item in ITEMS:
            for _ in range(rng.randint(1, 3)):  # ticked, unticked, ticked again
                moment += rng.randint(1000, 60_000)
                offline.append(tick(phone, today(-back), item, rng.random() < 0.7, moment))
    offline.append(session_edit(phone, "initial-next", today(21), "planned", now - 3 * DAY_MS))
    offline.append(session_edit(phone, "extra", today(49), "planned", now - 2 * DAY_MS))

    # Meanwhile the tablet, online, edits some of the same boxes and the same session.
    online = [
        tick(
            tablet,
            today(-back),
            rng.choice(ITEMS),
            rng.random() < 0.5,
            now - back * DAY_MS - rng.randint(0, DAY_MS // 2),
        )
        for back in range(7, -1, -1)
    ]
    online.append(session_edit(tablet, "initial-next", today(28), "planned", now - DAY_MS))
    assert tablet.sync(online).status_code == 200

    # The phone reconnects: batches of 200, and the first batch is sent twice (a lost answer).
    batches = [offline[i : i + 200] for i in range(0, len(offline), 200)]
    for batch in [batches[0], *batches]:
        answer = phone.sync(batch)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["acknowledged"] == [e["id"] for e in batch]

    store = client.application.extensions["plans"]
    stored = store.export_plan(phone.plan_id)["events"]
    sent = offline + online
    assert_nothing_lost(stored, sent)

    state = store.tick_state(phone.plan_id)
    keys = {(e["day"], e["item"]) for e in sent if "item" in e}
    for key in keys:
        expected = winner([e for e in sent if "item" in e and (e["day"], e["item"]) == key], key)
        assert state[key]["id"] == expected["id"], key
    built = series.build(plan, store.session_events(phone.plan_id))
    assert [(s["session"], s["day"]) for s in built] == [
        ("initial-1", today(-10)),
        ("initial-next", today(28)),
        ("extra", today(49)),
    ]

    # Both devices, reading from the start, see every stored event once.
    for device in (phone, tablet):
        seen = device.sync([], cursor=0).get_json()["events"]
        assert sorted(e["id"] for e in seen) == sorted(e["id"] for e in stored)
