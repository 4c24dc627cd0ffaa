"""The sync API through the real app and real TinyDB files: registration, sync, linking,
export, delete, and hostile input that must change nothing."""

from __future__ import annotations

import copy
import secrets
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from api_device import ApiDevice
from api_device import wire_plan
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from pwa.care import merge
from pwa.care import series
from pwa.care.days import local_day
from pwa.sync.devices import digest

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

TZ = "Europe/London"


def today(offset: int = 0) -> str:
    return (local_day(datetime.now(UTC), TZ) + timedelta(days=offset)).isoformat()


def new_plan(**changes) -> dict:
    return wire_plan(TZ, **changes)


class Device(ApiDevice):
    """One phone talking to the API."""

    def register(self, plan=None):
        return self.post_plan(plan or new_plan())

    def event(self, item="hands-off", done=True, day=None, **changes):
        fields = {"ts": int(time.time() * 1000), "day": day or today(), "item": item, "done": done}
        return self.new_event(**{**fields, **changes})

    def sync(self, events, cursor=0, headers=None):
        return self.post_sync(events, cursor, headers)


@pytest.fixture
def store(app):
    return app.extensions["plans"]


@pytest.fixture
def phone(client):
    device = Device(client)
    assert device.register().status_code == 201
    return device


def test_register_is_idempotent_for_the_same_device(client, store):
    device = Device(client)
    assert device.register().status_code == 201
    assert device.register().status_code == 200
    intruder = Device(client, plan_id=device.plan_id)
    answer = intruder.register()
    assert answer.status_code == 409 and answer.get_json()["error"] == "conflict"
    assert [d["device"] for d in store.list_devices(device.plan_id)] == [device.id]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "plan.time_zone"),
        ({"day_start_hour": 12}, "plan.day_start_hour"),
        ({"day_start_hour": True}, "plan.day_start_hour"),
        ({"sessions": []}, "plan.sessions"),
        ({"sessions": [{"day": "2026-02-30", "number": 1}]}, "plan.sessions[0].day"),
        ({"next_session": "2000-01-01"}, "plan.next_session"),
        ({"skin_type": "VII"}, "plan.skin_type"),
        ({"mode": "standard"}, "plan.mode"),
        ({"protocol": {"id": "made-up", "version": 1}}, "plan.protocol.id"),
        ({"protocol": {"id": "microneedling-default", "version": 9}}, "plan.protocol.version"),
        ({"extra": 1}, "plan: unknown"),
        ({"setting": "spa"}, "plan.setting: must be one of clinic, home"),
        ({"setting": None}, "plan.setting"),
    ],
)
def test_bad_plans_are_refused_and_store_nothing(client, store, change, field):
    device = Device(client)
    answer = device.register(new_plan(**change))
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith(field)
    assert not store.plan_exists(device.plan_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan_id": "../../etc/passwd"}, "plan_id"),
        ({"credential": "short"}, "credential"),
        ({"device_id": "a b"}, "device_id"),
    ],
)
def test_bad_identities_are_refused(client, body, field):
    device = Device(client)
    payload = {
        "plan_id": device.plan_id,
        "device_id": device.id,
        "credential": device.credential,
        "plan": new_plan(),
        **body,
    }
    answer = client.post("/api/plans", json=payload)
    assert answer.status_code == 400 and answer.get_json()["message"].startswith(field)


def test_sync_stores_once_and_returns_other_devices_changes(client, store, phone):
    tick = phone.event()
    first = phone.sync([tick])
    assert first.status_code == 200
    assert first.get_json()["acknowledged"] == [tick["id"]]
    assert phone.sync([tick]).get_json()["cursor"] == 1, "a replay is harmless"
    assert len(store.export_plan(phone.plan_id)["events"]) == 1
    pulled = phone.sync([], cursor=0).get_json()
    assert [e["id"] for e in pulled["events"]] == [tick["id"]]
    assert phone.sync([], cursor=1).get_json()["events"] == []


def test_unknown_plan_wrong_credential_and_revoked_device_look_the_same(client, store, phone):
    tick = phone.event()
    answers = [
        phone.sync([tick], headers={"Authorization": f"Bearer {phone.id}.{'x' * 32}"}),
        phone.sync([tick], headers={"Authorization": "Basic abc"}),
        phone.sync([tick], headers={"X-No-Credential": "1"}),
        Device(client).sync([tick], headers=phone.auth),
    ]
    store.revoke_device(phone.plan_id, phone.id)
    answers.append(phone.sync([tick]))
    bodies = {(a.status_code, a.get_data(as_text=True)) for a in answers}
    assert len(bodies) == 1 and next(iter(bodies))[0] == 404
    assert store.export_plan(phone.plan_id)["events"] == []


def _hostile_batches(phone):
    good = phone.event()
    return {
        "not a list": "ticks",
        "too many": [phone.event() for _ in range(501)],
        "day before the plan": [phone.event(day=today(-30))],
        "day in the future": [phone.event(day=today(5))],
        "unknown item": [phone.event(item="drink-bleach")],
        "someone else's device": [phone.event(device="another-device-id")],
        "bool as counter": [phone.event(counter=True)],
        "extra field": [{**phone.event(), "admin": True}],
        "same id twice, different content": [good, {**good, "done": False}],
        "one bad among good": [phone.event(), phone.event(day="2026-13-01")],
    }


@pytest.mark.parametrize(
    "case",
    [
        "not a list",
        "too many",
        "someone else's device",
        "bool as counter",
        "extra field",
        "same id twice, different content",
        "one bad among good",
    ],
)
def test_hostile_batches_get_a_400_and_change_nothing(store, phone, case):
    phone.sync([phone.event(item="moisturise")])
    before = copy.deepcopy(store.export_plan(phone.plan_id))
    answer = phone.sync(_hostile_batches(phone)[case])
    assert answer.status_code == 400
    assert answer.get_json()["error"] in ("invalid", "bad_request")
    assert store.export_plan(phone.plan_id)["events"] == before["events"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"day": today(-30)}, "events[1].day: must be between"),
        ({"day": today(5)}, "events[1].day: must be between"),
        ({"item": "drink-bleach"}, "events[1].item: not an item"),
    ],
)
def test_an_event_that_does_not_fit_is_set_aside_and_the_rest_is_stored(store, phone, bad, message):
    """Made by hand (a phone could not have sent it): one bad event never stops the batch."""
    good, wrong, also_good = phone.event(), phone.event(**bad), phone.event(item="moisturise")
    answer = phone.sync([good, wrong, also_good])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["acknowledged"] == [good["id"], also_good["id"]]
    assert body["set_aside"] == [{"id": wrong["id"], "message": body["set_aside"][0]["message"]}]
    assert body["set_aside"][0]["message"].startswith(message)
    stored = {e["id"] for e in store.export_plan(phone.plan_id)["events"]}
    assert good["id"] in stored and also_good["id"] in stored and wrong["id"] not in stored


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"events": [], "cursor": -1}', "application/json", 400),
        ('{"events": [], "cursor": "0"}', "application/json", 400),
        ("x" * (600 * 1024), "application/json", 413),
    ],
)
def test_malformed_bodies_are_json_errors(client, phone, data, content_type, status):
    answer = client.post(
        f"/api/plans/{phone.plan_id}/sync",
        data=data,
        content_type=content_type,
        headers=phone.auth,
    )
    assert answer.status_code == status
    assert answer.mimetype == "application/json"


def test_join_link_is_single_use_and_gives_its_own_credential(client, store, phone):
    phone.sync([phone.event()])
    made = client.post(f"/api/plans/{phone.plan_id}/join-tokens", json={}, headers=phone.auth)
    link = made.get_json()["link"]
    assert link.startswith("http://localhost/settings/join#")
    plan_id, token = link.split("#")[1].split(".")
    assert plan_id == phone.plan_id
    tablet = Device(client, plan_id=plan_id)
    body = {
        "plan_id": plan_id,
        "token": token,
        "device_id": tablet.id,
        "credential": tablet.credential,
    }
    joined = client.post("/api/join", json=body)
    assert joined.status_code == 200 and joined.get_json()["plan"]["time_zone"] == TZ
    assert len(tablet.sync([]).get_json()["events"]) == 1
    again = Device(client, plan_id=plan_id)
    body.update(device_id=again.id, credential=again.credential)
    assert client.post("/api/join", json=body).status_code == 404
    # Revoking the tablet leaves the phone working.
    store.revoke_device(plan_id, tablet.id)
    assert tablet.sync([]).status_code == 404
    assert phone.sync([]).status_code == 200


def join(client, device: Device) -> Device:
    """A second device joined to `device`'s plan through a device link; its answer as `.joined`."""
    made = client.post(f"/api/plans/{device.plan_id}/join-tokens", json={}, headers=device.auth)
    token = made.get_json()["link"].split("#")[1].split(".")[1]
    tablet = Device(client, plan_id=device.plan_id)
    body = {
        "plan_id": device.plan_id,
        "token": token,
        "device_id": tablet.id,
        "credential": tablet.credential,
    }
    tablet.joined = client.post("/api/join", json=body)
    return tablet


def test_a_plan_made_at_home_is_stored_and_comes_back_on_join_and_export(client, store):
    phone = Device(client)
    assert phone.register(new_plan(setting="home")).status_code == 201
    assert store.get_plan(phone.plan_id)["setting"] == "home"
    tablet = join(client, phone)
    assert tablet.joined.status_code == 200
    assert tablet.joined.get_json()["plan"]["setting"] == "home"
    exported = client.get(f"/api/plans/{phone.plan_id}/export", headers=tablet.auth)
    assert exported.get_json()["plan"]["setting"] == "home"


def test_a_phone_made_before_setting_existed_still_registers_as_a_clinic_plan(client, store):
    old_phone = Device(client)
    plan = new_plan()
    plan.pop("setting", None)
    assert "setting" not in plan
    assert old_phone.register(plan).status_code == 201
    assert old_phone.register(plan).status_code == 200  # its retry, too
    assert store.get_plan(old_phone.plan_id)["setting"] == "clinic"
    assert old_phone.sync([old_phone.event()]).status_code == 200
    tablet = join(client, old_phone)
    assert tablet.joined.get_json()["plan"]["setting"] == "clinic"


def test_a_plan_stored_before_setting_existed_is_answered_as_a_clinic_plan(client, store):
    phone = Device(client)
    plan = new_plan()
    plan.pop("setting", None)
    now_ms = int(time.time() * 1000)
    store.create_plan(phone.plan_id, plan, phone.id, digest(phone.credential), now_ms)
    tablet = join(client, phone)
    assert tablet.joined.status_code == 200
    assert tablet.joined.get_json()["plan"]["setting"] == "clinic"
    exported = client.get(f"/api/plans/{phone.plan_id}/export", headers=phone.auth)
    assert exported.get_json()["plan"]["setting"] == "clinic"
    assert "setting" not in store.get_plan(phone.plan_id)  # storage is untouched


def test_set_up_before_the_first_session_at_home(client, store):
    """Someone with a pen sets up 5 days before her first session: pre-care ticks sync."""
    phone = Device(client)
    plan = new_plan(
        setting="home",
        starts_planned=True,
        sessions=[{"day": today(5), "number": 1}],
        next_session=None,
    )
    assert phone.register(plan).status_code == 201
    assert store.get_plan(phone.plan_id)["starts_planned"] is True
    built = series.build(plan, [])
    assert [(s["day"], s["status"]) for s in built] == [(today(5), "planned")]
    assert phone.sync([phone.event(item="precare-no-actives")]).status_code == 200
    # Her answer to "Ready for your session?" on the day before it.
    answer = phone.event(day=today(1), item="ready-cold-sore", done=False)
    assert phone.sync([answer]).status_code == 200
    tablet = join(client, phone)
    assert tablet.joined.get_json()["plan"]["starts_planned"] is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_planned": "yes"}, "plan.starts_planned"),
        (
            {
                "starts_planned": True,
                "sessions": [{"day": today(-40), "number": 1}, {"day": today(-3), "number": 2}],
            },
            "plan.starts_planned",
        ),
    ],
)
def test_a_bad_starts_planned_is_refused_and_stores_nothing(client, store, changes, message):
    phone = Device(client)
    answer = phone.register(new_plan(**changes))
    assert answer.status_code == 400 and answer.get_json()["message"].startswith(message)
    assert store.get_plan(phone.plan_id) is None


def test_a_plan_without_starts_planned_is_answered_as_started(client, store, phone):
    tablet = join(client, phone)
    assert tablet.joined.get_json()["plan"]["starts_planned"] is False


def test_expired_join_token_is_refused(client, store, phone):
    token = secrets.token_urlsafe(24)
    store.add_join_token(phone.plan_id, digest(token), int(time.time() * 1000) - 1)
    tablet = Device(client, plan_id=phone.plan_id)
    body = {
        "plan_id": phone.plan_id,
        "token": token,
        "device_id": tablet.id,
        "credential": tablet.credential,
    }
    assert client.post("/api/join", json=body).status_code == 404


def test_join_link_qr_code_is_an_svg_image(client, phone):
    made = client.post(f"/api/plans/{phone.plan_id}/join-tokens", json={}, headers=phone.auth)
    assert made.get_json()["qr"].startswith("data:image/svg+xml;base64,")


def test_export_has_no_secrets_and_delete_removes_everything(client, store, phone):
    phone.sync([phone.event()])
    exported = client.get(f"/api/plans/{phone.plan_id}/export", headers=phone.auth)
    assert exported.status_code == 200
    text = exported.get_data(as_text=True)
    assert phone.credential not in text and digest(phone.credential) not in text
    assert exported.get_json()["events"][0]["item"] == "hands-off"
    assert client.delete(f"/api/plans/{phone.plan_id}", headers=phone.auth).status_code == 204
    assert not store.plan_exists(phone.plan_id)
    assert phone.sync([]).status_code == 404


def session_edit(device, session, day, status="planned", at=None):
    return device.new_event(
        ts=int(time.time() * 1000), session=session, day=day, time=at, status=status
    )


def test_session_edits_sync_between_devices_and_build_the_same_series(client, store, phone):
    other = Device(client, plan_id=phone.plan_id)
    link = client.post(f"/api/plans/{phone.plan_id}/join-tokens", headers=phone.auth).get_json()
    token = link["link"].rsplit(".", 1)[1]
    joined = client.post(
        "/api/join",
        json={
            "plan_id": phone.plan_id,
            "token": token,
            "device_id": other.id,
            "credential": other.credential,
        },
    )
    assert joined.status_code == 200
    edits = [
        session_edit(phone, "initial-next", today(20), at="10:30"),
        session_edit(phone, "extra", today(60)),
    ]
    assert phone.sync(edits).status_code == 200
    answer = other.sync([]).get_json()
    assert [e["id"] for e in answer["events"]] == [e["id"] for e in edits]
    built = series.build(new_plan(), store.session_events(phone.plan_id))
    assert [(s["day"], s["time"], s["number"]) for s in built] == [
        (today(-3), None, 1),
        (today(20), "10:30", 2),
        (today(60), None, 3),
    ]


def test_ticks_may_go_back_to_a_session_added_before_the_first(store, phone):
    # The first session was 3 days ago; pre-care ticks may go 14 days before it, no further.
    early_tick = phone.event(day=today(-18))
    answer = phone.sync([early_tick])
    (aside,) = answer.get_json()["set_aside"]
    assert answer.status_code == 200 and "between the pre-care before the first" in aside["message"]
    assert phone.sync([phone.event(day=today(-17), item="precare-no-actives")]).status_code == 200
    # The same batch may log the earlier session and tick its days.
    answer = phone.sync([session_edit(phone, "before", today(-18), "done"), early_tick])
    assert answer.status_code == 200
    assert (today(-18), "hands-off") in store.tick_state(phone.plan_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "done", "day": today(5)}, "events[1].status: a session in the future"),
        ({"day": "2099-01-01"}, "events[1].day: must be within"),
    ],
)
def test_a_session_date_that_cannot_be_is_set_aside_and_the_rest_syncs(
    store, phone, change, message
):
    """The 2099 session: set aside with its reason; the good edit and later ticks are stored."""
    good = session_edit(phone, "initial-next", today(20))
    bad = {**session_edit(phone, "other", today(30)), **change}
    answer = phone.sync([good, bad])
    assert answer.status_code == 200
    assert answer.get_json()["acknowledged"] == [good["id"]]
    (aside,) = answer.get_json()["set_aside"]
    assert aside["id"] == bad["id"] and aside["message"].startswith(message)
    later = phone.event()
    assert phone.sync([later]).get_json()["acknowledged"] == [later["id"]]
    stored = {e["id"] for e in store.export_plan(phone.plan_id)["events"]}
    assert {good["id"], later["id"]} <= stored and bad["id"] not in stored


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "moved"}, "events[1].status: must be one of"),
        ({"time": "7pm"}, "events[1].time"),
        ({"session": "../x"}, "events[1].session"),
        ({"extra": True}, "events[1].extra: unknown field"),
    ],
)
def test_malformed_session_edits_are_refused_whole_and_change_nothing(
    store, phone, change, message
):
    good = session_edit(phone, "initial-next", today(20))
    bad = {**session_edit(phone, "other", today(30)), **change}
    before = store.export_plan(phone.plan_id)
    answer = phone.sync([good, bad])
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith(message)
    assert store.export_plan(phone.plan_id) == before


# Any mix of events that fit and events that don't, in any order: exactly the ones that
# fit are stored and acknowledged, the others set aside, each once.  Made by hand: the
# phone's own forms refuse most of the misfits before they are sent.
FITTING_TICK = st.fixed_dictionaries(
    {
        # Pre-care may be ticked from 14 days before the first session (3 days ago).
        "day": st.integers(-17, 0).map(today),
        "item": st.sampled_from(["hands-off", "moisturise", "mineral-spf", "precare-no-actives"]),
        "done": st.booleans(),
    }
)
MISFIT_TICK = st.one_of(
    FITTING_TICK.map(lambda tick: {**tick, "item": "not-in-the-protocol"}),
    st.one_of(st.integers(-400, -18), st.integers(2, 400)).flatmap(
        lambda offset: FITTING_TICK.map(lambda tick: {**tick, "day": today(offset)})
    ),
)
FITTING_SESSION = st.integers(10, 700).map(
    lambda offset: {"day": today(offset), "time": None, "status": "planned"}
)
MISFIT_SESSION = st.one_of(
    st.just({"day": "2099-01-01", "time": None, "status": "planned"}),
    st.integers(5, 700).map(lambda offset: {"day": today(offset), "time": None, "status": "done"}),
    st.integers(3 * 366 + 2, 9000).map(
        lambda back: {"day": today(-back), "time": "09:00", "status": "cancelled"}
    ),
)
MIXED_BATCH = st.lists(
    st.one_of(
        FITTING_TICK.map(lambda fields: (True, fields)),
        MISFIT_TICK.map(lambda fields: (False, fields)),
        FITTING_SESSION.map(lambda fields: (True, fields)),
        MISFIT_SESSION.map(lambda fields: (False, fields)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(MIXED_BATCH)
def test_a_batch_of_any_mix_stores_exactly_the_events_that_fit(client, store, batch):
    device = Device(client)
    assert device.register().status_code == 201
    events, fits = [], set()
    for n, (fit, fields) in enumerate(batch):
        # Each session edit its own session: the series rules are not what is tested here.
        if "status" in fields:
            fields = {**fields, "session": f"session-{n}"}
        event = device.new_event(ts=int(time.time() * 1000), **fields)
        events.append(event)
        if fit:
            fits.add(event["id"])
    answer = device.sync(events)
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body["acknowledged"]) == fits and len(body["acknowledged"]) == len(fits)
    aside = [entry["id"] for entry in body["set_aside"]]
    assert sorted(aside) == sorted(e["id"] for e in events if e["id"] not in fits)
    assert all(entry["message"].startswith("events[") for entry in body["set_aside"])
    # Of the events that fit, the plan keeps each box's winning tick and every session edit.
    fitting = [e for e in events if e["id"] in fits]
    kept = [*merge.merge({}, fitting).values(), *(e for e in fitting if "session" in e)]
    stored = {e["id"] for e in store.export_plan(device.plan_id)["events"]}
    assert stored == {e["id"] for e in kept}
    # Sent again, nothing changes.
    again = device.sync(events).get_json()
    assert set(again["acknowledged"]) == fits
    assert {e["id"] for e in store.export_plan(device.plan_id)["events"]} == stored
