"""Web Push reminders end to end, without the internet: a plan registered through the API,
sessions and ticks synced, a device subscribed, and `notify.send_due` (and the real
`flask reminders send-due` command) delivering to the fake push service in
tests/push_receiver.py, which checks the VAPID token and decrypts every message."""

from __future__ import annotations

import base64
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from api_device import PROTOCOL_ID
from api_device import ApiDevice
from api_device import plan_today
from api_device import wire_plan
from push_receiver import PushReceiver
from support import ROOT
from support import clean_environment
from support import free_port
from support import stored_plans

from pwa import create_app
from pwa import storage
from pwa.core import cli
from pwa.reminders import notify
from pwa.reminders import push
from pwa.reminders import push_checks

CONTACT = "mailto:reminders@clinic-example.co.uk"
ZONE = "Europe/London"
FLASK = ROOT / ".venv" / "bin" / "flask"


def calendar_today(zone: str = ZONE) -> date:
    """Today's date on the wall calendar of the plan's zone (what reminders count from)."""
    return datetime.now(ZoneInfo(zone)).date()


def at(on: date, hhmm: str, zone: str = ZONE) -> datetime:
    """The instant of a local wall-clock time in the plan's zone, as UTC."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(on.year, on.month, on.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def new_plan(zone: str = ZONE) -> dict:
    return wire_plan(zone)


class Phone(ApiDevice):
    """One device talking to the API as the app does."""

    def register(self, zone: str = ZONE) -> Phone:
        answer = self.post_plan(new_plan(zone))
        assert answer.status_code == 201, answer.get_json()
        return self

    def join(self, owner: Phone) -> Phone:
        """Link this device to `owner`'s plan with a join link."""
        made = self.client.post(
            f"/api/plans/{owner.plan_id}/join-tokens", json={}, headers=owner.auth
        )
        token = made.get_json()["link"].split("#")[1].split(".")[1]
        body = {
            "plan_id": owner.plan_id,
            "token": token,
            "device_id": self.id,
            "credential": self.credential,
        }
        assert self.client.post("/api/join", json=body).status_code == 200
        self.plan_id = owner.plan_id
        return self

    def sync(self, events: list[dict]) -> None:
        answer = self.post_sync(events)
        assert answer.status_code == 200, answer.get_json()

    def session(self, session: str, on: date, hhmm: str | None, status: str = "planned"):
        self.sync([self.new_event(session=session, day=on.isoformat(), time=hhmm, status=status)])

    def tick(self, on: date, items: list[str], done: bool = True) -> None:
        self.sync([self.new_event(day=on.isoformat(), item=item, done=done) for item in items])

    def subscribe(self, subscription: dict, prefs: dict | None = None):
        return self.client.put(
            f"/api/plans/{self.plan_id}/push",
            json={"subscription": subscription, "prefs": prefs or {}},
            headers=self.auth,
        )


@pytest.fixture
def receiver():
    with PushReceiver() as receiver:
        yield receiver
    assert receiver.errors == []


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def make_app(data_dir, receiver: PushReceiver | None, **config):
    settings = {"TESTING": True, "DATA_DIR": data_dir, "SECRET_KEY": "reminder-tests"}
    if receiver is not None:
        settings["PUSH_CONTACT"] = CONTACT
        settings["PUSH_SERVICE_HOSTS"] = (*push_checks.DEFAULT_PUSH_HOSTS, receiver.origin)
    return create_app({**settings, **config})


@pytest.fixture
def push_app(data_dir, receiver):
    return make_app(data_dir, receiver)


@pytest.fixture
def web(push_app):
    return push_app.test_client()


@pytest.fixture
def phone(web):
    return Phone(web).register()


def push_settings(app) -> notify.PushSettings:
    """The settings exactly as the CLI builds them from the app's configuration."""
    with app.app_context():
        settings = cli.push_settings()
    assert settings is not None
    return settings


def send_due(app, now: datetime, store: storage.PlanStore | None = None) -> Counter:
    return notify.send_due(
        store or app.extensions["plans"], app.extensions["schedules"], push_settings(app), now
    )


def subscribe(phone: Phone, receiver: PushReceiver, name: str = "a", prefs=None, **misbehave):
    answer = phone.subscribe(receiver.subscribe(name, **misbehave), prefs)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["prefs"]


def items_of(app, mode: str, day_number: int) -> list[str]:
    return app.extensions["schedules"][PROTOCOL_ID]["modes"][mode]["days"][day_number]["items"]


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- appointment reminders --------------------------------------------------------


def test_session_tomorrow_is_delivered_once_encrypted_and_signed(push_app, web, phone, receiver):
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    prefs = subscribe(phone, receiver, "a")
    assert prefs["daily_time"] is None and prefs["evening_time"] == "18:00"
    assert push_app.extensions["plans"].plans_with_push() == [phone.plan_id]

    evening = at(appointment - timedelta(days=1), "18:30")
    before = time.time()
    assert send_due(push_app, evening) == Counter({"sent": 1})

    assert receiver.rejected == []
    [message] = receiver.messages
    assert message["name"] == "a"
    assert message["payload"] == {
        "title": "Appointment tomorrow",
        "body": "Your skin appointment is tomorrow at 10:00.",
        "url": "/sessions/",
        "tag": "session-tomorrow",
    }
    assert message["claims"]["sub"] == CONTACT
    assert message["claims"]["aud"] == receiver.origin
    assert before < message["claims"]["exp"] <= time.time() + 24 * 60 * 60
    assert message["ttl"] == notify.PUSH_TTL_S and message["ttl"] > 0
    assert message["urgency"] == "normal"
    assert message["vapid_key"] == web.get("/api/push/key").get_json()["public_key"]

    # Run again, or a minute later: nothing new.
    assert send_due(push_app, evening) == Counter({"already sent": 1})
    assert send_due(push_app, evening + timedelta(minutes=1)) == Counter({"already sent": 1})
    assert len(receiver.messages) == 1

    # The morning of the appointment brings the other reminder, once.
    morning = at(appointment, "08:15")
    assert send_due(push_app, morning) == Counter({"sent": 1})
    assert send_due(push_app, morning) == Counter({"already sent": 1})
    assert [m["payload"]["title"] for m in receiver.messages] == [
        "Appointment tomorrow",
        "Appointment today",
    ]
    assert receiver.messages[1]["payload"]["body"] == "Your skin appointment is today at 10:00."


def test_nothing_is_sent_before_the_window_and_nothing_is_claimed(push_app, phone, receiver):
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, None)
    subscribe(phone, receiver, "a", {"evening_time": "19:00"})
    eve = appointment - timedelta(days=1)
    assert send_due(push_app, at(eve, "18:59")) == Counter()
    assert receiver.requests == []
    assert send_due(push_app, at(eve, "19:00")) == Counter({"sent": 1})
    [message] = receiver.messages
    assert message["payload"]["body"] == "Your skin appointment is tomorrow."


def test_overlapping_runs_send_each_reminder_once(push_app, data_dir, web, phone, receiver):
    tablet = Phone(web).join(phone)
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "phone")
    subscribe(tablet, receiver, "tablet")
    evening = at(appointment - timedelta(days=1), "18:30")
    settings = push_settings(push_app)
    schedules = push_app.extensions["schedules"]
    runs = 6
    start = threading.Barrier(runs)
    results: list[Counter] = []
    failures: list[BaseException] = []

    def run():
        # Each run opens the data folder itself, as a separate process would.
        store = stored_plans(data_dir)
        try:
            start.wait(timeout=10)
            results.append(notify.send_due(store, schedules, settings, evening))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(results) == runs
    total = sum(results, Counter())
    assert total == Counter({"sent": 2, "already sent": 2 * (runs - 1)})
    assert sorted(m["name"] for m in receiver.messages) == ["phone", "tablet"]
    assert {m["payload"]["tag"] for m in receiver.messages} == {"session-tomorrow"}
    assert send_due(push_app, evening) == Counter({"already sent": 2})
    assert len(receiver.messages) == 2


# --- the daily aftercare reminder ---------------------------------------------------


def test_daily_reminder_only_while_items_of_the_day_are_left(push_app, phone, receiver):
    plan = push_app.extensions["plans"].get_plan(phone.plan_id)
    session_day = date.fromisoformat(plan["sessions"][0]["day"])
    aftercare_day = plan_today(ZONE) - timedelta(days=1)
    items = items_of(push_app, plan["mode"], (aftercare_day - session_day).days)
    assert len(items) > 1
    subscribe(phone, receiver, "a", {"daily_time": "19:00"})
    evening = at(aftercare_day, "19:30")

    phone.tick(aftercare_day, items)
    assert send_due(push_app, evening) == Counter()
    assert receiver.requests == []

    phone.tick(aftercare_day, items[:1], done=False)
    assert send_due(push_app, evening) == Counter({"sent": 1})
    [message] = receiver.messages
    assert message["payload"] == {
        "title": "Today's aftercare",
        "body": "Today's aftercare list has 1 item left.",
        "url": "/",
        "tag": "aftercare",
    }
    assert send_due(push_app, evening + timedelta(minutes=5)) == Counter({"already sent": 1})
    assert len(receiver.messages) == 1


def test_daily_reminder_is_off_unless_a_time_is_chosen(push_app, phone, receiver):
    subscribe(phone, receiver, "a", {"daily_time": None})
    aftercare_day = plan_today(ZONE) - timedelta(days=1)
    assert send_due(push_app, at(aftercare_day, "19:30")) == Counter()
    assert receiver.requests == []


# --- quiet hours ------------------------------------------------------------------


def test_a_reminder_due_in_quiet_hours_waits_for_them_to_end(push_app, phone, receiver):
    appointment = calendar_today() + timedelta(days=2)
    # Two hours before 08:30 is 06:30, inside the default quiet hours (21:00 to 08:00).
    phone.session("s-early", appointment, "08:30")
    subscribe(phone, receiver, "a")
    for quiet in ("06:30", "07:00", "07:59"):
        assert send_due(push_app, at(appointment, quiet)) == Counter()
    assert receiver.requests == []
    assert send_due(push_app, at(appointment, "08:05")) == Counter({"sent": 1})
    assert receiver.messages[0]["payload"]["tag"] == "session-today"


def test_a_run_inside_quiet_hours_sends_nothing_even_if_the_reminder_is_unsent(
    push_app, phone, receiver
):
    # The evening reminder opens at 18:00; quiet hours (21:00 to 08:00) close it.  A
    # sender that first runs at 21:30 (it was down, or cron was late) must stay silent.
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "a")
    eve = appointment - timedelta(days=1)
    for quiet in ("21:00", "21:30", "23:59"):
        assert send_due(push_app, at(eve, quiet)) == Counter(), quiet
    assert send_due(push_app, at(appointment, "07:59")) == Counter()
    assert receiver.requests == []
    # The evening reminder is lost, not delayed into the morning; the morning has its own.
    assert send_due(push_app, at(appointment, "08:05")) == Counter({"sent": 1})
    assert [m["payload"]["tag"] for m in receiver.messages] == ["session-today"]


def test_the_devices_own_quiet_hours_hold_back_the_evening_reminder(push_app, phone, receiver):
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    prefs = {"evening_time": "18:00", "quiet_start": "18:00", "quiet_end": "19:00"}
    subscribe(phone, receiver, "a", prefs)
    eve = appointment - timedelta(days=1)
    assert send_due(push_app, at(eve, "18:00")) == Counter()
    assert send_due(push_app, at(eve, "18:45")) == Counter()
    assert receiver.requests == []
    assert send_due(push_app, at(eve, "19:05")) == Counter({"sent": 1})


def test_the_servers_quiet_hours_apply_when_the_device_chose_none(data_dir, receiver):
    app = make_app(data_dir, receiver, QUIET_HOURS_START="17:00", QUIET_HOURS_END="08:00")
    phone = Phone(app.test_client()).register()
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "a", {})  # no quiet hours of its own
    assert send_due(app, at(appointment - timedelta(days=1), "18:30")) == Counter()


# --- subscriptions the push service has dropped ----------------------------------------


def test_a_gone_subscription_is_deleted_and_the_plan_leaves_the_index(push_app, phone, receiver):
    store = push_app.extensions["plans"]
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "gone", gone=True)
    evening = at(appointment - timedelta(days=1), "18:30")

    assert send_due(push_app, evening) == Counter({"gone": 1})
    assert [r["status"] for r in receiver.rejected] == [410]
    assert receiver.messages == []
    assert store.push_subscriptions(phone.plan_id) == []
    assert store.plans_with_push() == []
    assert send_due(push_app, evening) == Counter()
    assert len(receiver.requests) == 1


def test_a_gone_subscription_leaves_the_other_devices_subscribed(push_app, web, phone, receiver):
    store = push_app.extensions["plans"]
    tablet = Phone(web).join(phone)
    appointment = calendar_today() + timedelta(days=2)
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "gone", gone=True)
    subscribe(tablet, receiver, "tablet")
    evening = at(appointment - timedelta(days=1), "18:30")

    assert send_due(push_app, evening) == Counter({"gone": 1, "sent": 1})
    assert [m["name"] for m in receiver.messages] == ["tablet"]
    left = store.push_subscriptions(phone.plan_id)
    assert [entry["device"] for entry in left] == [tablet.id]
    assert store.plans_with_push() == [phone.plan_id]

    # Turning off the last one takes the plan out of the index.
    answer = web.delete(f"/api/plans/{phone.plan_id}/push", headers=tablet.auth)
    assert answer.status_code == 204
    assert store.plans_with_push() == []


# --- what the API refuses ---------------------------------------------------------


def test_endpoints_off_the_allow_list_are_refused_and_never_contacted(
    push_app, web, phone, receiver
):
    store = push_app.extensions["plans"]
    good = receiver.subscribe("a")
    other_port = free_port()
    while f":{other_port}" in receiver.origin:
        other_port = free_port()
    origin = receiver.origin
    refused = [
        "https://evil.example.net/push/x",
        f"http://127.0.0.1:{other_port}/x",
        f"http://localhost:{origin.rsplit(':', 1)[1]}/push/a",
        origin.replace("http://", "https://") + "/push/a",
        f"http://127.0.0.1:{origin.rsplit(':', 1)[1]}@evil.example.net/push/a",
        "https://fcm.googleapis.com.evil.example.net/fcm/send/x",
        "https://fcm.googleapis.com:8443/fcm/send/x",
    ]
    for endpoint in refused:
        answer = phone.subscribe({**good, "endpoint": endpoint}, {})
        assert answer.status_code == 400, endpoint
        assert answer.mimetype == "application/json"
        assert answer.get_json()["error"] == "invalid"
        assert answer.get_json()["message"].startswith("endpoint"), answer.get_json()
    assert store.push_subscriptions(phone.plan_id) == []
    assert store.plans_with_push() == []
    assert receiver.requests == []

    # A device already subscribed keeps its subscription when a bad one is refused.
    subscribe(phone, receiver, "a")
    kept = store.push_subscriptions(phone.plan_id)
    answer = phone.subscribe({**good, "endpoint": refused[0]}, {"daily_time": "09:00"})
    assert answer.status_code == 400
    assert store.push_subscriptions(phone.plan_id) == kept
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("prefs", "field"),
    [
        ({"daily_time": "7pm"}, "prefs.daily_time"),
        ({"evening_time": "24:00"}, "prefs.evening_time"),
        ({"quiet_start": None}, "prefs.quiet_start"),
        ({"sound": "loud"}, "prefs: unknown"),
    ],
)
def test_bad_prefs_are_refused_and_store_nothing(push_app, phone, receiver, prefs, field):
    answer = phone.subscribe(receiver.subscribe("a"), prefs)
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith(field)
    assert push_app.extensions["plans"].push_subscriptions(phone.plan_id) == []
    assert push_app.extensions["plans"].plans_with_push() == []


def test_another_plans_device_cannot_subscribe_to_this_plan(push_app, web, phone, receiver):
    stranger = Phone(web).register()
    answer = web.put(
        f"/api/plans/{phone.plan_id}/push",
        json={"subscription": receiver.subscribe("a"), "prefs": {}},
        headers=stranger.auth,
    )
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"
    assert push_app.extensions["plans"].push_subscriptions(phone.plan_id) == []


def test_the_public_key_is_offered_when_push_is_on(web, push_app):
    answer = web.get("/api/push/key")
    assert answer.status_code == 200
    body = answer.get_json()
    assert list(body) == ["public_key"]
    key = body["public_key"]
    assert len(key) == 87 and "=" not in key
    point = unb64url(key)
    assert len(point) == 65 and point[0] == 0x04
    assert key == push.application_server_key(push_app.config["VAPID_KEY_PATH"])


def test_push_off_answers_404_and_stores_nothing(data_dir, receiver):
    app = make_app(data_dir, None)
    assert app.config["PUSH_CONTACT"] == ""
    web = app.test_client()
    answer = web.get("/api/push/key")
    assert answer.status_code == 404
    assert answer.mimetype == "application/json"
    assert answer.get_json()["error"] == "push_off"
    phone = Phone(web).register()
    answer = phone.subscribe(receiver.subscribe("a"), {})
    assert answer.status_code == 404 and answer.get_json()["error"] == "push_off"
    assert app.extensions["plans"].push_subscriptions(phone.plan_id) == []
    with app.app_context():
        assert cli.push_settings() is None
    assert receiver.requests == []


# --- the command cron runs ----------------------------------------------------------


def evening_zone() -> tuple[str, datetime]:
    """A zone where it is now between 09:00 and 20:00: outside the default quiet hours,
    and far from midnight, so "tomorrow" cannot change while the test runs."""
    now = datetime.now(UTC)
    for zone in (
        "Europe/London",
        "Asia/Tokyo",
        "America/New_York",
        "Asia/Kolkata",
        "America/Los_Angeles",
        "Pacific/Auckland",
    ):
        local = now.astimezone(ZoneInfo(zone))
        if 9 <= local.hour < 20:
            return zone, local
    raise AssertionError("some zone is always in daytime")


def cli_env(data_dir, receiver: PushReceiver) -> dict[str, str]:
    return clean_environment(
        DATA_DIR=str(data_dir),
        PWA_PUSH_CONTACT=CONTACT,
        PWA_PUSH_SERVICE_HOSTS=f"fcm.googleapis.com,{receiver.origin}",
    )


def start_cli(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(FLASK), "--app", "pwa", "reminders", "send-due"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


@pytest.fixture
def due_now(data_dir, receiver):
    """A plan with a session tomorrow (plan time) whose evening reminder is due right now."""
    zone, local = evening_zone()
    app = make_app(data_dir, receiver)
    phone = Phone(app.test_client()).register(zone)
    phone.session("s-next", local.date() + timedelta(days=1), "10:00")
    evening = (local - timedelta(minutes=30)).strftime("%H:%M")
    subscribe(phone, receiver, "cron", {"evening_time": evening})
    return app


def test_the_send_due_command_delivers_a_due_reminder_once(due_now, data_dir, receiver):
    assert FLASK.is_file(), f"{FLASK} is missing"
    env = cli_env(data_dir, receiver)
    assert finish(start_cli(env)) == "1 sent"
    [message] = receiver.messages
    assert message["payload"]["tag"] == "session-tomorrow"
    assert message["payload"]["body"] == "Your skin appointment is tomorrow at 10:00."
    assert message["claims"]["sub"] == CONTACT
    assert message["ttl"] == notify.PUSH_TTL_S
    assert finish(start_cli(env)) == "1 already sent"
    assert len(receiver.messages) == 1


def test_two_commands_started_together_deliver_once(due_now, data_dir, receiver):
    env = cli_env(data_dir, receiver)
    processes = [start_cli(env), start_cli(env)]
    outputs = sorted(finish(process) for process in processes)
    assert outputs == ["1 already sent", "1 sent"]
    assert len(receiver.messages) == 1
    assert receiver.rejected == []


def test_the_command_says_push_is_off_without_a_contact(data_dir, receiver):
    make_app(data_dir, None)
    env = clean_environment(DATA_DIR=str(data_dir))
    assert finish(start_cli(env)).startswith("push is off")
    assert receiver.requests == []


# --- plans side by side ------------------------------------------------------------


def test_a_slow_push_service_does_not_hold_back_another_plans_reminder(push_app, web, receiver):
    appointment = calendar_today() + timedelta(days=2)
    # The slow plan comes first in the round (plans go in id order).
    slow = Phone(web, plan_id="a-slow-plan-00000001").register()
    quick = Phone(web, plan_id="z-quick-plan-0000001").register()
    for phone in (slow, quick):
        phone.session("s-next", appointment, "10:00")
    subscribe(slow, receiver, "slow", delay=8)
    subscribe(quick, receiver, "quick")
    evening = at(appointment - timedelta(days=1), "18:30")
    sending = threading.Thread(target=send_due, args=(push_app, evening))
    sending.start()
    # The quick plan's reminder arrives while the slow one's push service still keeps its
    # answer: one after the other, it would wait the whole 8 s.
    delivered = receiver.wait_for_messages(1, timeout=6)
    assert [m["name"] for m in delivered] == ["quick"]
    sending.join(timeout=30)
    assert sorted(m["name"] for m in receiver.messages) == ["quick", "slow"]


def test_a_round_past_its_budget_leaves_plans_for_the_next_round(push_app, web, receiver):
    appointment = calendar_today() + timedelta(days=2)
    phone = Phone(web).register()
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "a")
    evening = at(appointment - timedelta(days=1), "18:30")
    store, schedules = push_app.extensions["plans"], push_app.extensions["schedules"]
    settings = push_settings(push_app)
    late = notify.send_due(store, schedules, settings, evening, budget_s=-1)
    assert late == Counter({"left for the next round": 1}) and receiver.messages == []
    assert notify.send_due(store, schedules, settings, evening) == Counter({"sent": 1})


def test_a_failing_push_service_is_tried_again_after_a_growing_wait(push_app, web, receiver):
    appointment = calendar_today() + timedelta(days=3)
    phone = Phone(web).register()
    phone.session("s-next", appointment, "10:00")
    subscribe(phone, receiver, "broken", status=500)
    store = push_app.extensions["plans"]
    evening = at(appointment - timedelta(days=1), "18:05")
    assert send_due(push_app, evening) == Counter({"failed": 1})
    # Within the minute it waits, without a request; then it is tried and waits 2 minutes.
    assert send_due(push_app, evening + timedelta(seconds=30)) == Counter(
        {"waiting after failures": 1}
    )
    assert len(receiver.rejected) == 1
    assert send_due(push_app, evening + timedelta(seconds=61)) == Counter({"failed": 1})
    waiting = evening + timedelta(seconds=61 + 119)
    assert send_due(push_app, waiting) == Counter({"waiting after failures": 1})
    assert len(receiver.rejected) == 2

    # The service mends (the phone subscribed again, as a browser does): sent at once.
    subscribe(phone, receiver, "mended")
    assert send_due(push_app, waiting) == Counter({"sent": 1})
    [entry] = store.push_subscriptions(phone.plan_id)
    assert entry["retry_ms"] == 0
