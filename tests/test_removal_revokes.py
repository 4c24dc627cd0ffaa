"""Removing a device revokes what it could still open: the device links waiting to be used
and the calendar feed it made.  However it is removed: from another phone, from the console
(both end in the plan store's revoke_device) or by forgetting itself."""

from __future__ import annotations

import pytest
from test_api import Device
from test_api import join

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends


def device_link_token(client, device) -> str:
    made = client.post(f"/api/plans/{device.plan_id}/join-tokens", json={}, headers=device.auth)
    assert made.status_code == 200
    return made.get_json()["link"].split("#")[1].split(".")[1]


def calendar_feed(client, device) -> str:
    made = client.post(f"/api/plans/{device.plan_id}/calendar-link", json={}, headers=device.auth)
    assert made.status_code == 201
    return made.get_json()["feed_url"].removeprefix("http://localhost")


def joins(client, device, token, newcomer=None) -> int:
    """The status of a join with `token` by `newcomer` (a new device if None)."""
    newcomer = newcomer or Device(client, plan_id=device.plan_id)
    body = {
        "plan_id": device.plan_id,
        "token": token,
        "device_id": newcomer.id,
        "credential": newcomer.credential,
    }
    return client.post("/api/join", json=body).status_code


@pytest.fixture
def phone(client):
    device = Device(client)
    assert device.register().status_code == 201
    return device


def remove_from_phone(client, phone, lost):
    url = f"/api/plans/{phone.plan_id}/devices/{lost.id}"
    assert client.delete(url, headers=phone.auth).status_code == 204


def forget_itself(client, phone, lost):
    url = f"/api/plans/{lost.plan_id}/forget"
    assert client.post(url, json={}, headers=lost.auth).status_code == 204


def remove_as_the_console_does(client, phone, lost):
    store = client.application.extensions["plans"]
    assert store.revoke_device(lost.plan_id, lost.id)


@pytest.mark.parametrize("remove", [remove_from_phone, forget_itself, remove_as_the_console_does])
def test_removing_a_device_kills_its_links_and_its_calendar_feed(client, phone, remove):
    lost = join(client, phone)
    waiting_from_lost = device_link_token(client, lost)
    waiting_from_phone = device_link_token(client, phone)
    feed = calendar_feed(client, lost)
    assert client.get(feed).status_code == 200

    remove(client, phone, lost)

    assert joins(client, phone, waiting_from_lost) == 404
    assert joins(client, phone, waiting_from_phone) == 404
    assert client.get(feed).status_code == 404
    # The phone that stays goes on: a new link and a new feed work.
    assert joins(client, phone, device_link_token(client, phone)) == 200
    assert client.get(calendar_feed(client, phone)).status_code == 200


def test_a_feed_made_by_the_phone_that_stays_keeps_working(client, phone):
    feed = calendar_feed(client, phone)
    lost = join(client, phone)
    remove_from_phone(client, phone, lost)
    assert client.get(feed).status_code == 200
    state = client.get(f"/api/plans/{phone.plan_id}/calendar-link", headers=phone.auth)
    assert state.get_json()["exists"] is True


def test_used_and_unused_tokens_do_not_pile_up(client, phone):
    store = client.application.extensions["plans"]
    for _ in range(3):
        device_link_token(client, phone)
    lost = join(client, phone)
    remove_from_phone(client, phone, lost)
    assert store.export_plan(phone.plan_id)["device_links"] == []


def test_expired_and_used_tokens_are_dropped_when_a_new_one_is_made(client, phone):
    store = client.application.extensions["plans"]
    store.add_join_token(phone.plan_id, "expired-hash", expires_ms=1)
    used = device_link_token(client, phone)
    assert joins(client, phone, used) == 200
    device_link_token(client, phone)
    (waiting,) = store.export_plan(phone.plan_id)["device_links"]  # only the new one
    assert waiting["used_ms"] is None and waiting["expires_ms"] > 1


def test_at_most_five_device_links_wait_at_once(client, phone):
    for _ in range(5):
        device_link_token(client, phone)
    refused = client.post(f"/api/plans/{phone.plan_id}/join-tokens", json={}, headers=phone.auth)
    assert refused.status_code == 409
    assert refused.get_json()["message"].startswith("At most 5 device links")
