"""Three app hosts in front of one PostgreSQL and one Redis, tested together.

Each host is `make run` (gunicorn, 2 workers, its own reminder scheduler) with a data
folder of its own and its own port on 127.0.0.1; what they share is DATABASE_URL and
REDIS_URL, as a clinic group's hosts behind a load balancer would (tests/several_hosts.py).
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import threading
import time
from datetime import timedelta

import pytest
from api_device import plan_today
from push_receiver import PushReceiver
from several_hosts import running_hosts
from support import HttpClient
from support import RunningServer
from support import assert_nothing_lost
from support import stored_plans
from support import wait_until
from test_reminder_delivery import CONTACT
from test_reminder_delivery import Phone
from test_reminder_delivery import evening_zone
from test_reminder_delivery import subscribe

from pwa import create_app
from pwa.care import merge
from pwa.clinic import accounts

EMAIL = "dr.ana@harbour-skin.co.uk"
PASSWORD = "a long practitioner passphrase"
REDIS_DATABASE = 13  # one of Redis's numbered databases, kept for these tests
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def receiver():
    with PushReceiver() as receiver:
        yield receiver
    assert receiver.errors == []


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, postgres_database, receiver):
    postgres_database.empty()
    folder = tmp_path_factory.mktemp("hosts")
    with running_hosts(
        folder,
        postgres_database.url,
        REDIS_DATABASE,
        REMINDERS_EVERY="1",
        PWA_PUSH_CONTACT=CONTACT,
        PWA_PUSH_SERVICE_HOSTS=f"fcm.googleapis.com,{receiver.origin}",
    ) as started:
        yield started


def test_a_tick_through_one_host_is_seen_through_another(hosts):
    day = plan_today("Europe/London").isoformat()
    phone = Phone(HttpClient(hosts[0].url)).register()
    tick = phone.new_event(day=day, item="hands-off", done=True)
    assert phone.post_sync([tick]).status_code == 200
    tablet = Phone(HttpClient(hosts[1].url)).join(phone)
    tablet.client = HttpClient(hosts[2].url)
    answer = tablet.post_sync([]).get_json()
    assert answer["events"] == [tick]


def test_four_devices_syncing_one_plan_through_random_hosts_store_each_event_once(hosts):
    clients = [HttpClient(host.url) for host in hosts]
    owner = Phone(clients[0]).register()
    devices = [owner] + [Phone(clients[n % 3]).join(owner) for n in range(1, 4)]
    day = plan_today("Europe/London")
    items = ["hands-off", "moisturise", "mineral-spf", "no-picking", "gentle-cleanse-morning"]
    sent: list[dict] = []
    statuses: list[int] = []
    seen_by_pollers: list[list[dict]] = [[] for _ in hosts]
    done = threading.Event()
    lock = threading.Lock()

    def sync_many(device: Phone, seed: int) -> None:
        pick = random.Random(seed)
        for n in range(500):
            device.client = pick.choice(clients)
            event = device.new_event(
                day=(day - timedelta(days=n % 3)).isoformat(),
                item=items[n % len(items)],
                done=n % 2 == 0,
                # Stamped before it is sent: a stamp ahead of the server's clock would be
                # stored as its arrival time (merge.arrived), and differ from what was sent.
                ts=int(time.time() * 1000) - 1,
            )
            answer = device.post_sync([event])
            with lock:
                statuses.append(answer.status_code)
                sent.append(event)

    def poll(index: int) -> None:
        # A device of its own per host, reading from its cursor until the writers stop.
        reader = devices[index % len(devices)]
        client, cursor = clients[index], 0
        while True:
            finished = done.is_set()
            answer = client.post(
                f"/api/plans/{owner.plan_id}/sync",
                json={"events": [], "cursor": cursor},
                headers=reader.auth,
            ).get_json()
            seen_by_pollers[index] += answer["events"]
            cursor = answer["cursor"]
            if finished and not answer["more"]:
                break

    writers = [threading.Thread(target=sync_many, args=(d, n)) for n, d in enumerate(devices)]
    pollers = [threading.Thread(target=poll, args=(n,)) for n in range(len(hosts))]
    for thread in writers + pollers:
        thread.start()
    for thread in writers:
        thread.join(timeout=600)
    done.set()
    for thread in pollers:
        thread.join(timeout=120)
    assert statuses == [200] * 2000
    store = stored_plans(hosts[0].data_dir, _database(hosts))
    stored = store.export_plan(owner.plan_id)["events"]
    assert_nothing_lost(stored, sent)
    # Each poller, merging what it was sent, ends where the plan ends.
    final = store.tick_state(owner.plan_id)
    for seen in seen_by_pollers:
        assert merge.merge({}, seen) == final


def test_a_console_sign_in_made_on_one_host_works_on_the_others(hosts):
    app = create_app({"DATA_DIR": hosts[0].data_dir, "DATABASE_URL": _database(hosts)})
    app.extensions["clinic"].add_practitioner(EMAIL, accounts.hash_password(PASSWORD), 0)
    browser = HttpClient(hosts[0].url)
    page = browser.get("/console/login").text
    signed = browser.post(
        "/console/login",
        data={"csrf_token": CSRF.search(page).group(1), "email": EMAIL, "password": PASSWORD},
    )
    assert signed.status_code == 302
    for host in hosts[1:]:
        elsewhere = HttpClient(host.url, cookies=browser.cookies)
        assert elsewhere.get("/console/").status_code == 200
        assert HttpClient(host.url).get("/console/").status_code == 302, "no cookie, no entry"


def test_wrong_passwords_spread_over_the_hosts_still_slow_the_account(hosts):
    email = "dr.ben@harbour-skin.co.uk"
    app = create_app({"DATA_DIR": hosts[0].data_dir, "DATABASE_URL": _database(hosts)})
    app.extensions["clinic"].add_practitioner(email, accounts.hash_password(PASSWORD), 0)

    def log_in(host: RunningServer, password: str) -> int:
        browser = HttpClient(host.url)
        token = CSRF.search(browser.get("/console/login").text).group(1)
        form = {"csrf_token": token, "email": email, "password": password}
        return browser.post("/console/login", data=form).status_code

    # The default allows 5 wrong tries before the wait starts; they go to A, B, C, A, B.
    for host in itertools.islice(itertools.cycle(hosts), 5):
        assert log_in(host, "not the right passphrase") == 401
    # Now even the right password waits, on every host.
    assert [log_in(host, PASSWORD) for host in hosts] == [429, 429, 429]


def test_each_reminder_goes_out_once_and_another_host_sends_when_the_sender_dies(hosts, receiver):
    zone, local = evening_zone()
    owner = Phone(HttpClient(hosts[0].url)).register(zone)
    owner.session("s-next", local.date() + timedelta(days=1), "10:00")
    evening = (local - timedelta(minutes=30)).strftime("%H:%M")
    subscribe(owner, receiver, "first", {"evening_time": evening})
    receiver.wait_for_messages(1, timeout=120)
    sender = _sender(hosts)
    # Rounds go on after the one that sent: the sender finds it sent already, the other
    # hosts do not send at all.
    wait_until(lambda: sender.log().count("reminders: 1 already sent") >= 2)
    assert len(receiver.messages) == 1
    assert sum("reminders: this host sends" in host.log() for host in hosts) == 1

    os.killpg(sender.process.pid, signal.SIGKILL)
    sender.process.wait(timeout=30)
    alive = [host for host in hosts if host is not sender]
    second = Phone(HttpClient(alive[0].url)).register(zone)
    second.session("s-next", local.date() + timedelta(days=1), "10:00")
    subscribe(second, receiver, "second", {"evening_time": evening})
    receiver.wait_for_messages(2, timeout=120)
    heir = _sender(alive)
    wait_until(lambda: heir.log().count("reminders: 2 already sent") >= 2)
    assert sorted(m["name"] for m in receiver.messages) == ["first", "second"]


def _sender(hosts: list[RunningServer]) -> RunningServer:
    found: list[RunningServer] = []
    wait_until(lambda: found.extend(h for h in hosts if "this host sends" in h.log()) or found)
    [sender] = found
    return sender


def _database(hosts: list[RunningServer]) -> str:
    return hosts[0]._env["DATABASE_URL"]
