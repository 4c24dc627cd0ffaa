"""The private calendar feed through the real app: a device makes a link with the API, a
calendar app fetches it, and every wrong, revoked or foreign key gets the same 404."""

from __future__ import annotations

import secrets
from datetime import date
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from api_device import PROTOCOL_ID
from api_device import ApiDevice
from api_device import plan_today
from api_device import wire_plan
from icalendar import Calendar

from pwa import create_app
from pwa.care import protocol

# Every test here runs on the files and on PostgreSQL (conftest.py).
pytestmark = pytest.mark.both_backends

ZONE = "America/New_York"


def day(offset: int, zone: str = ZONE) -> str:
    return (plan_today(zone) + timedelta(days=offset)).isoformat()


def new_plan(zone: str = ZONE) -> dict:
    return wire_plan(zone)


class Phone(ApiDevice):
    """One device with its own plan, talking to the API like the app does."""

    def __init__(self, client, zone: str = ZONE):
        super().__init__(client)
        self.zone = zone

    def register(self) -> Phone:
        answer = self.post_plan(new_plan(self.zone))
        assert answer.status_code == 201, answer.get_json()
        return self

    def session(self, session: str, on: str, at: str | None = None, status: str = "planned"):
        """Sync one session edit (add, move, cancel) and check the server took it."""
        event = self.new_event(session=session, day=on, time=at, status=status)
        answer = self.post_sync([event])
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["acknowledged"] == [event["id"]]

    def link_url(self) -> str:
        return f"/api/plans/{self.plan_id}/calendar-link"

    def new_link(self, **body) -> dict:
        answer = self.client.post(self.link_url(), json=body, headers=self.auth)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    def link_state(self) -> dict:
        answer = self.client.get(self.link_url(), headers=self.auth)
        assert answer.status_code == 200
        return answer.get_json()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def calendar_app(data_dir):
    return create_app({"TESTING": True, "DATA_DIR": data_dir, "SECRET_KEY": "calendar-tests"})


@pytest.fixture
def web(calendar_app):
    return calendar_app.test_client()


@pytest.fixture
def phone(web):
    return Phone(web).register()


def fetch(client, url: str):
    return client.get(url)


def feed(client, url: str) -> Calendar:
    answer = fetch(client, url)
    assert answer.status_code == 200, answer.status_code
    assert answer.mimetype == "text/calendar"
    return Calendar.from_ical(answer.get_data())


def session_events(calendar: Calendar) -> dict[str, object]:
    """The session VEVENTs by session id (UIDs are session-<id>-<feed key>@aftercare)."""
    found = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"])
        if uid.startswith("session-"):
            found[uid.removeprefix("session-").rsplit("-", 1)[0]] = event
    return found


def checkpoint_events(calendar: Calendar) -> list:
    return [e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith("checkpoint-")]


def texts(calendar: Calendar) -> list[str]:
    """Everything a person sees: titles, descriptions and alarm texts."""
    seen = []
    for event in calendar.walk("VEVENT"):
        seen += [str(event["SUMMARY"]), str(event["DESCRIPTION"])]
        seen += [str(alarm["DESCRIPTION"]) for alarm in event.walk("VALARM")]
    return seen


def triggers(event) -> list[timedelta]:
    return sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))


def sensitive_words(app) -> list[str]:
    """Words a neutral feed must never show: the treatment and every gate name."""
    schedule = app.extensions["schedules"][PROTOCOL_ID]
    names = {
        gate["name"].lower()
        for mode in protocol.MODES
        for plan_day in schedule["modes"][mode]["days"]
        for gate in plan_day["gates"]
    }
    return ["microneedling", protocol.CONDITION.lower(), *sorted(names)]


def uids(calendar: Calendar) -> list[str]:
    return [str(event["UID"]) for event in calendar.walk("VEVENT")]


# --- making the link and reading the feed ---------------------------------------


def test_new_link_gives_feed_and_webcal_urls_and_a_valid_calendar(calendar_app, web, phone):
    assert phone.link_state() == {"exists": False, "explicit_titles": False}
    link = phone.new_link()
    assert link["explicit_titles"] is False
    feed_url = link["feed_url"]
    assert feed_url.startswith("http://localhost/sessions/calendar.ics?")
    query = parse_qs(urlsplit(feed_url).query)
    assert query["plan"] == [phone.plan_id]
    assert len(query["key"]) == 1 and len(query["key"][0]) >= 32
    assert link["webcal_url"] == "webcal://" + feed_url.removeprefix("http://")
    assert phone.link_state() == {"exists": True, "explicit_titles": False}

    phone.session("s-timed", day(20), "10:00")
    phone.session("s-allday", day(40))

    answer = fetch(web, feed_url)
    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    assert answer.headers["Cache-Control"] == "private, no-cache"
    raw = answer.get_data()
    # Calendar servers keep what they fetch: the plan id is not in the feed.
    assert phone.plan_id.encode() not in raw
    calendar = Calendar.from_ical(raw)

    sessions = session_events(calendar)
    # The seeds from the plan (one done, one planned) and the two synced sessions.
    assert sorted(sessions) == ["initial-1", "initial-next", "s-allday", "s-timed"]
    assert len(calendar.walk("VEVENT")) == len(sessions) + len(checkpoint_events(calendar))
    assert checkpoint_events(calendar), "the done session starts a run of check-ins"

    zone = ZoneInfo(ZONE)
    assert str(calendar["X-WR-TIMEZONE"]) == ZONE
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == [ZONE]
    timed = sessions["s-timed"]
    assert timed["DTSTART"].params["TZID"] == ZONE
    start = datetime.combine(date.fromisoformat(day(20)), datetime.min.time(), zone)
    assert timed.decoded("DTSTART") == start.replace(hour=10)
    assert timed.decoded("DTEND") - timed.decoded("DTSTART") == timedelta(hours=1)
    assert sessions["initial-1"].decoded("DTSTART") == date.fromisoformat(day(-3))
    assert sessions["initial-next"].decoded("DTSTART") == date.fromisoformat(day(25))

    # Alarms on planned sessions only; the default is a day and two hours before.
    assert triggers(timed) == [timedelta(days=-1), timedelta(hours=-2)]
    assert triggers(sessions["s-allday"]) and triggers(sessions["initial-next"])
    assert triggers(sessions["initial-1"]) == []

    # Neutral by default: nothing names the treatment or a product.
    seen = " ".join(texts(calendar)).lower()
    assert [word for word in sensitive_words(calendar_app) if word in seen] == []
    assert b"microneedling" not in raw.lower()


def test_uids_are_stable_and_sequence_grows_with_each_synced_edit(web, phone):
    feed_url = phone.new_link()["feed_url"]
    phone.session("s-timed", day(20), "10:00")
    first = feed(web, feed_url)
    again = feed(web, feed_url)
    assert uids(first) == uids(again)
    before = session_events(first)
    assert int(before["initial-next"]["SEQUENCE"]) == 0
    assert int(before["s-timed"]["SEQUENCE"]) == 1

    phone.session("s-timed", day(21), "11:30")  # moved
    phone.session("initial-next", day(26))  # the onboarding answer, moved
    after = session_events(feed(web, feed_url))
    assert sorted(after) == sorted(before)
    assert str(after["s-timed"]["UID"]) == str(before["s-timed"]["UID"])
    assert int(after["s-timed"]["SEQUENCE"]) == 2
    assert int(after["initial-next"]["SEQUENCE"]) == 1
    assert after["s-timed"].decoded("DTSTART").strftime("%Y-%m-%d %H:%M") == f"{day(21)} 11:30"
    assert after["initial-next"].decoded("DTSTART") == date.fromisoformat(day(26))


def test_a_cancelled_session_leaves_the_feed(web, phone):
    feed_url = phone.new_link()["feed_url"]
    phone.session("s-extra", day(40), "09:15")
    assert "s-extra" in session_events(feed(web, feed_url))
    phone.session("s-extra", day(40), "09:15", status="cancelled")
    remaining = session_events(feed(web, feed_url))
    assert sorted(remaining) == ["initial-1", "initial-next"]


def test_explicit_titles_can_be_switched_on_and_off_on_the_same_link(calendar_app, web, phone):
    feed_url = phone.new_link()["feed_url"]
    phone.session("s-timed", day(20), "10:00")
    answer = web.patch(phone.link_url(), json={"explicit_titles": True}, headers=phone.auth)
    assert answer.status_code == 200 and answer.get_json() == {"explicit_titles": True}
    assert phone.link_state() == {"exists": True, "explicit_titles": True}

    explicit = feed(web, feed_url)
    summaries = {sid: str(event["SUMMARY"]) for sid, event in session_events(explicit).items()}
    assert summaries == {
        "initial-1": "Microneedling session 1",
        "s-timed": "Microneedling session 2",
        "initial-next": "Microneedling session 3",
    }
    checkpoints = checkpoint_events(explicit)
    assert checkpoints
    for event in checkpoints:
        assert protocol.CONDITION in str(event["SUMMARY"])
        assert protocol.CONDITION in str(event["DESCRIPTION"])

    answer = web.patch(phone.link_url(), json={"explicit_titles": False}, headers=phone.auth)
    assert answer.status_code == 200
    neutral = " ".join(texts(feed(web, feed_url))).lower()
    assert [word for word in sensitive_words(calendar_app) if word in neutral] == []


def test_a_link_made_with_explicit_titles_is_explicit_from_the_start(web, phone):
    link = phone.new_link(explicit_titles=True)
    assert link["explicit_titles"] is True
    summaries = [str(e["SUMMARY"]) for e in session_events(feed(web, link["feed_url"])).values()]
    assert summaries and all(s.startswith("Microneedling session ") for s in summaries)


# --- revoking -------------------------------------------------------------------


def test_a_new_link_replaces_the_old_one_and_delete_revokes_it(web, phone):
    old = phone.new_link()["feed_url"]
    assert fetch(web, old).status_code == 200
    new = phone.new_link()["feed_url"]
    assert new != old
    assert fetch(web, old).status_code == 404
    assert fetch(web, new).status_code == 200
    assert phone.link_state()["exists"] is True

    assert web.delete(phone.link_url(), headers=phone.auth).status_code == 204
    assert fetch(web, new).status_code == 404
    assert fetch(web, old).status_code == 404
    assert phone.link_state() == {"exists": False, "explicit_titles": False}
    # With no link there is nothing to change the options of.
    answer = web.patch(phone.link_url(), json={"explicit_titles": True}, headers=phone.auth)
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
    assert phone.link_state()["exists"] is False


def test_deleting_the_plan_takes_the_feed_with_it(web, phone):
    feed_url = phone.new_link()["feed_url"]
    assert web.delete(f"/api/plans/{phone.plan_id}", headers=phone.auth).status_code == 204
    assert fetch(web, feed_url).status_code == 404


def test_every_wrong_key_gets_the_same_404_and_leaves_no_trace(data_dir, web, phone):
    feed_url = phone.new_link()["feed_url"]
    key = parse_qs(urlsplit(feed_url).query)["key"][0]
    other = Phone(web).register()
    other_key = parse_qs(urlsplit(other.new_link()["feed_url"]).query)["key"][0]
    path = "/sessions/calendar.ics"
    plans_folder = data_dir / "plans"
    files_before = sorted(p.name for p in plans_folder.iterdir())

    def get(**query):
        return web.get(path, query_string=query)

    answers = {
        "wrong key": get(plan=phone.plan_id, key=secrets.token_urlsafe(24)),
        "another plan's key": get(plan=phone.plan_id, key=other_key),
        "this key on another plan": get(plan=other.plan_id, key=key),
        "key with a character more": get(plan=phone.plan_id, key=key + "A"),
        "malformed plan id": get(plan="../" + phone.plan_id, key=key),
        "short plan id": get(plan="abc", key=key),
        "unknown plan id": get(plan=secrets.token_urlsafe(16), key=key),
        "no plan": get(key=key),
        "no key": get(plan=phone.plan_id),
        "empty key": get(plan=phone.plan_id, key=""),
        "non-ASCII key": get(plan=phone.plan_id, key=key[:-1] + "é"),
        "undecodable key": web.get(f"{path}?plan={phone.plan_id}&key=%FF%FE"),
        "key in a fragment": web.get(f"{path}?plan={phone.plan_id}#key={key}"),
    }
    shapes = {name: (a.status_code, a.mimetype, a.get_data()) for name, a in answers.items()}
    assert {status for status, _, _ in shapes.values()} == {404}
    assert len(set(shapes.values())) == 1, "every failure must look the same"
    assert sorted(p.name for p in plans_folder.iterdir()) == files_before
    # The real links still work.
    assert fetch(web, feed_url).status_code == 200
    assert get(plan=other.plan_id, key=other_key).status_code == 200


def test_another_plans_device_can_neither_make_nor_read_nor_change_the_link(web, phone):
    feed_url = phone.new_link()["feed_url"]
    stranger = Phone(web).register()
    url = phone.link_url()
    answers = [
        web.post(url, json={}, headers=stranger.auth),
        web.get(url, headers=stranger.auth),
        web.patch(url, json={"explicit_titles": True}, headers=stranger.auth),
        web.delete(url, headers=stranger.auth),
        web.post(url, json={}),
        web.get(url, headers={"Authorization": f"Bearer {phone.id}.{stranger.credential}"}),
    ]
    shapes = {(a.status_code, a.mimetype, a.get_data()) for a in answers}
    assert len(shapes) == 1
    status, mimetype, body = shapes.pop()
    assert (status, mimetype) == (404, "application/json")
    assert b"not_found" in body
    # Plan A's link is untouched, and the stranger's own plan has none.
    assert fetch(web, feed_url).status_code == 200
    assert phone.link_state() == {"exists": True, "explicit_titles": False}
    assert stranger.link_state() == {"exists": False, "explicit_titles": False}


# --- bad input ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", 1, 0, None, [], {"on": True}])
def test_explicit_titles_must_be_a_boolean_and_a_refusal_changes_nothing(
    calendar_app, web, phone, value
):
    feed_url = phone.new_link()["feed_url"]
    for answer in (
        web.patch(phone.link_url(), json={"explicit_titles": value}, headers=phone.auth),
        web.post(phone.link_url(), json={"explicit_titles": value}, headers=phone.auth),
    ):
        assert answer.status_code == 400
        assert answer.mimetype == "application/json"
        assert answer.get_json()["error"] == "invalid"
        assert answer.get_json()["message"].startswith("explicit_titles")
    # The POST did not make a new link: the old one still works, still neutral.
    assert phone.link_state() == {"exists": True, "explicit_titles": False}
    seen = " ".join(texts(feed(web, feed_url))).lower()
    assert [word for word in sensitive_words(calendar_app) if word in seen] == []


def test_a_patch_without_the_field_or_without_json_is_refused(web, phone):
    feed_url = phone.new_link()["feed_url"]
    missing = web.patch(phone.link_url(), json={}, headers=phone.auth)
    assert missing.status_code == 400
    assert missing.get_json()["message"].startswith("explicit_titles")
    not_json = web.patch(
        phone.link_url(), data="explicit_titles=1", content_type="text/plain", headers=phone.auth
    )
    assert not_json.status_code == 400 and not_json.mimetype == "application/json"
    assert phone.link_state() == {"exists": True, "explicit_titles": False}
    assert fetch(web, feed_url).status_code == 200


# --- configuration --------------------------------------------------------------


def test_configured_alarm_minutes_give_one_alarm_an_hour_before(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": tmp_path / "data",
            "SECRET_KEY": "calendar-tests",
            "CALENDAR_ALARM_MINUTES": (60,),
        }
    )
    web = app.test_client()
    phone = Phone(web).register()
    feed_url = phone.new_link()["feed_url"]
    phone.session("s-timed", day(20), "10:00")
    phone.session("s-later", day(48), "16:45")
    answer = fetch(web, feed_url)
    assert answer.status_code == 200
    sessions = session_events(Calendar.from_ical(answer.get_data()))
    for name in ("s-timed", "s-later"):
        alarms = sessions[name].walk("VALARM")
        assert len(alarms) == 1
        assert alarms[0].decoded("TRIGGER") == timedelta(hours=-1)
        assert str(alarms[0]["ACTION"]) == "DISPLAY"
    assert answer.get_data().count(b"TRIGGER:-PT1H") == 2
    assert sessions["initial-1"].walk("VALARM") == []
