"""Settings' device list: each linked device with a readable name, and Remove for a lost one."""

from __future__ import annotations

import pytest
from test_api import Device
from test_api import join
from test_removal_revokes import device_link_token
from test_removal_revokes import joins

from pwa import storage
from pwa.sync.devices import CLINIC_DEVICE
from pwa.sync.devices import readable_name

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (PIXEL, "Chrome Mobile on Android"),
        (IPHONE, "Mobile Safari on iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on Windows",
        ),
        ("", ""),
        ("x" * 5000, ""),
    ],
)
def test_a_device_is_named_by_its_browser_and_system(user_agent, name):
    assert readable_name(user_agent) == name


def devices_of(client, device):
    answer = client.get(f"/api/plans/{device.plan_id}/devices", headers=device.auth)
    assert answer.status_code == 200
    return answer.get_json()["devices"]


def test_the_list_names_each_device_and_which_is_this_one(client):
    phone = Device(client)
    client.environ_base["HTTP_USER_AGENT"] = PIXEL
    assert phone.register().status_code == 201
    client.environ_base["HTTP_USER_AGENT"] = IPHONE
    tablet = join(client, phone)
    listed = devices_of(client, phone)
    assert [(d["device_id"], d["name"], d["this_device"]) for d in listed] == [
        (phone.id, "Chrome Mobile on Android", True),
        (tablet.id, "Mobile Safari on iPhone", False),
    ]
    assert all(d["added_ms"] <= d["last_seen_ms"] for d in listed)
    assert [d["this_device"] for d in devices_of(client, tablet)] == [False, True]


def test_removing_a_lost_phone_stops_it_and_leaves_this_one_working(client, app):
    phone = Device(client)
    assert phone.register().status_code == 201
    lost = join(client, phone)
    url = f"/api/plans/{phone.plan_id}/devices/{lost.id}"
    assert client.delete(url, headers=phone.auth).status_code == 204
    assert lost.sync([]).status_code == 404
    assert client.get(f"/api/plans/{phone.plan_id}/devices", headers=lost.auth).status_code == 404
    assert [d["device_id"] for d in devices_of(client, phone)] == [phone.id]
    assert phone.sync([phone.event()]).status_code == 200
    # Gone already, never there, or the phone itself: refused, and nothing changes.
    assert client.delete(url, headers=phone.auth).status_code == 404
    unknown = f"/api/plans/{phone.plan_id}/devices/never-linked-0001"
    assert client.delete(unknown, headers=phone.auth).status_code == 404
    own = f"/api/plans/{phone.plan_id}/devices/{phone.id}"
    answer = client.delete(own, headers=phone.auth)
    assert answer.status_code == 400 and "use forget" in answer.get_json()["message"]
    # A stranger cannot remove anything.
    stranger = Device(client, plan_id=phone.plan_id)
    assert client.delete(own, headers=stranger.auth).status_code == 404
    assert phone.sync([]).status_code == 200


def test_a_clinics_console_is_not_listed_and_cannot_be_removed(client, app):
    store = app.extensions["plans"]
    phone = Device(client)
    assert phone.register().status_code == 201
    store.add_device(phone.plan_id, CLINIC_DEVICE, "unusable-hash", 0)
    assert [d["device_id"] for d in devices_of(client, phone)] == [phone.id]
    url = f"/api/plans/{phone.plan_id}/devices/{CLINIC_DEVICE}"
    assert client.delete(url, headers=phone.auth).status_code == 404
    (clinic,) = [d for d in store.list_devices(phone.plan_id) if d["device"] == CLINIC_DEVICE]
    assert clinic["revoked"] is False


def test_a_plan_has_at_most_ten_devices_and_a_refused_link_stays_usable(client):
    phone = Device(client)
    assert phone.register().status_code == 201
    others = [join(client, phone) for _ in range(9)]
    assert all(other.joined.status_code == 200 for other in others)
    token = device_link_token(client, phone)
    eleventh = Device(client, plan_id=phone.plan_id)
    assert joins(client, phone, token, eleventh) == 409
    with pytest.raises(storage.TooMany, match="This plan has 10 devices, the most"):
        client.application.extensions["plans"].check_room_for_device(phone.plan_id)
    assert len(devices_of(client, phone)) == 10
    store = client.application.extensions["plans"]
    # The one link made is still waiting: the refused join did not use it up.
    (waiting,) = store.export_plan(phone.plan_id)["device_links"]
    assert waiting["used_ms"] is None, "used up"
    # Room is made; a new link works (removing a device voids the links waiting).
    url = f"/api/plans/{phone.plan_id}/devices/{others[0].id}"
    assert client.delete(url, headers=phone.auth).status_code == 204
    assert joins(client, phone, device_link_token(client, phone), eleventh) == 200
