"""The PostgreSQL backend as a deployment runs it: `make run` hosts on DATABASE_URL, their
start-up checks, the secrets they share, moving an embedded deployment in, and a host
killed mid-sync.  (The backend's own behaviour: tests/test_postgres_backend.py; several
hosts together: tests/test_several_hosts.py.)"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import psycopg
import pytest
from alembic.script import ScriptDirectory
from api_device import ApiDevice
from api_device import plan_today
from api_device import wire_plan
from support import GENEROUS_LIMITS
from support import HttpClient
from support import RunningServer
from support import generous_limits_environment
from support import wait_until
from test_api import Device
from test_api import join
from test_console_accounts import log_in_as as log_in

from pwa import create_app
from pwa.care import merge
from pwa.clinic import accounts
from pwa.storage import postgres
from pwa.storage.postgres import database as postgres_database_module

NOW = 1_767_225_600_000
EMAIL = "dr.ana@harbour-skin.co.uk"
PASSWORD = "a long practitioner passphrase"


def postgres_database_config(url: str):
    return postgres_database_module._alembic_config(url)


def test_make_run_on_postgres_keeps_plans_in_the_database(tmp_path, postgres_database):
    postgres_database.empty()
    server = RunningServer(
        tmp_path / "data",
        tmp_path / "server.log",
        DATABASE_URL=postgres_database.url,
        REMINDERS="0",
        **generous_limits_environment(),
    ).start()
    try:
        phone = ApiDevice(HttpClient(server.url))
        assert phone.post_plan(wire_plan("Europe/London")).status_code == 201
        tick = phone.new_event(
            day=plan_today("Europe/London").isoformat(), item="hands-off", done=True, ts=NOW
        )
        answer = phone.post_sync([tick], 0)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["acknowledged"] == [tick["id"]]
    finally:
        server.stop()
    stored = postgres.PostgresPlanStore(postgres_database.database)
    assert stored.changes_since(phone.plan_id, 0)[0] == [tick]
    assert not list((tmp_path / "data" / "plans").glob("*.json")), "no plan file was written"


def test_a_host_refuses_to_start_on_an_old_schema(tmp_path, postgres_database):
    url = postgres_database.url
    head = ScriptDirectory.from_config(postgres_database_config(url)).get_current_head()
    with pytest.raises(RuntimeError, match="flask --app pwa db upgrade"):
        with postgres_database.database.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
        try:
            RunningServer(
                tmp_path / "data", tmp_path / "server.log", DATABASE_URL=url, REMINDERS="0"
            ).start()
        finally:
            with postgres_database.database.engine.begin() as connection:
                connection.exec_driver_sql(
                    "UPDATE alembic_version SET version_num = %(head)s", {"head": head}
                )


def test_a_host_refuses_to_start_on_an_empty_database(tmp_path, postgres_database):
    name = postgres_database.name + "_bare"
    admin = "postgresql://" + postgres_database.url.split("://", 1)[1].rsplit("/", 1)[0]
    with psycopg.connect(admin + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = postgres_database.url.rsplit("/", 1)[0] + "/" + name
        server = RunningServer(
            tmp_path / "data", tmp_path / "server.log", DATABASE_URL=url, REMINDERS="0"
        )
        with pytest.raises(
            RuntimeError, match="the database is empty .no schema yet., this code needs revision"
        ):
            server.start()
        assert "Traceback" not in server.log()
        # Nothing a host would later disagree with is made meanwhile.
        assert not (tmp_path / "data" / "secret_key").exists()
    finally:
        postgres.Database.close_all()
        with psycopg.connect(admin + "/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_hosts_on_one_database_share_its_secret_key_and_vapid_key(tmp_path, postgres_database):
    postgres_database.empty()
    hosts = [
        create_app({"DATA_DIR": tmp_path / name, "DATABASE_URL": postgres_database.url})
        for name in ("host-a", "host-b")
    ]
    assert hosts[0].config["SECRET_KEY"] == hosts[1].config["SECRET_KEY"]
    assert len(hosts[0].config["SECRET_KEY"]) == 64
    keys = [app.config["VAPID_KEY_PATH"].read_bytes() for app in hosts]
    assert keys[0] == keys[1] and keys[0].startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [app.config["VAPID_KEY_PATH"].stat().st_mode & 0o777 for app in hosts] == [0o600] * 2
    # Neither host keeps a secret key file of its own.
    assert not (tmp_path / "host-a" / "secret_key").exists()
    # A console sign-in made through one host works through the other.
    hosts[0].extensions["clinic"].add_practitioner(EMAIL, accounts.hash_password(PASSWORD), NOW)
    on_a, on_b = hosts[0].test_client(), hosts[1].test_client()
    assert log_in(on_a, EMAIL, PASSWORD).status_code == 302
    assert on_b.get("/console/").status_code == 302, "not signed in on B yet"
    on_b.set_cookie("console", on_a.get_cookie("console").value)
    assert on_b.get("/console/").status_code == 200


def test_an_embedded_deployment_moves_into_postgres_and_phones_sync_on(tmp_path, postgres_database):
    postgres_database.empty()
    source = tmp_path / "embedded"
    before = create_app({"TESTING": True, "DATA_DIR": source, **GENEROUS_LIMITS})
    web = before.test_client()
    phone = Device(web)
    assert phone.register().status_code == 201
    tablet = join(web, phone)
    assert tablet.joined.status_code == 200
    day = plan_today("Europe/London").isoformat()
    first = [phone.event(day=day, item="hands-off"), phone.event(day=day, item="no-picking")]
    assert phone.sync(first).status_code == 200
    # A tick and its untap: only the winner is kept.
    edits = [tablet.event(day=day, item="hands-off", done=False)]
    cursor = tablet.sync(edits).get_json()["cursor"]
    assert web.post(f"/api/plans/{phone.plan_id}/calendar-link", headers=phone.auth).status_code
    before.extensions["clinic"].add_practitioner(EMAIL, accounts.hash_password(PASSWORD), NOW)
    before_export = before.extensions["plans"].export_plan(phone.plan_id)

    target = {"TESTING": True, "DATA_DIR": tmp_path / "host", **GENEROUS_LIMITS}
    target["DATABASE_URL"] = postgres_database.url
    # The same key seals two-step secrets on both sides (README: keep totp.key).
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "totp.key").write_bytes((source / "totp.key").read_bytes())
    after = create_app(target)
    moved = after.test_cli_runner().invoke(args=["db", "import-files", str(source), "--verify"])
    assert moved.exit_code == 0, moved.output
    assert "1 plans imported (2 events)" in moved.output and "Verified" in moved.output
    again = after.test_cli_runner().invoke(args=["db", "import-files", str(source)])
    assert "0 plans imported (0 events), 1 already there" in again.output

    assert after.extensions["plans"].export_plan(phone.plan_id) == before_export
    # Hosts started after the move sign cookies and pushes with the embedded keys.
    restarted = create_app(target)
    assert restarted.config["SECRET_KEY"] == (source / "secret_key").read_text().strip()
    vapid = restarted.config["VAPID_KEY_PATH"].read_bytes()
    assert vapid == (source / "vapid_private.pem").read_bytes()
    # The phone syncs on from the cursor it held: only what is new comes back.
    moved_web = restarted.test_client()
    phone.client, tablet.client = moved_web, moved_web
    late = phone.event(day=day, item="mineral-spf")
    answer = phone.sync([late], cursor=cursor).get_json()
    assert answer["events"] == [late] and answer["cursor"] == cursor + 1
    assert log_in(moved_web, EMAIL, PASSWORD).status_code == 302


def test_a_host_killed_mid_sync_with_its_connections_cut_loses_no_acknowledged_tick(
    tmp_path, postgres_database
):
    postgres_database.empty()
    environment = {**generous_limits_environment(), "REMINDERS": "0"}
    server = RunningServer(
        tmp_path / "data", tmp_path / "a.log", DATABASE_URL=postgres_database.url, **environment
    ).start()
    phone = ApiDevice(HttpClient(server.url))
    assert phone.post_plan(wire_plan("Europe/London")).status_code == 201
    today = plan_today("Europe/London")
    boxes = [
        ((today - timedelta(days=days_ago)).isoformat(), item)
        for days_ago in range(3)
        for item in ("hands-off", "moisturise", "mineral-spf", "no-picking", "no-sunbeds")
    ]
    acknowledged: list[dict] = []
    stop = threading.Event()

    def keep_syncing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            day, item = boxes[n % len(boxes)]
            tick = phone.new_event(day=day, item=item, done=n % 2 == 0, ts=NOW + n)
            try:
                answer = phone.post_sync([tick], 0)
            except OSError:
                continue  # the host went away mid-request: not acknowledged
            if answer.status_code == 200 and tick["id"] in answer.get_json()["acknowledged"]:
                acknowledged.append(tick)

    syncing = threading.Thread(target=keep_syncing)
    syncing.start()
    try:
        wait_until(lambda: len(acknowledged) >= 50)
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        with psycopg.connect(postgres_database.url.replace("+psycopg", "")) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        postgres.Database.close_all()
    finally:
        stop.set()
        syncing.join(timeout=60)
        server.stop()  # a no-op once killed; stops it if the wait above failed
    stored = postgres.PostgresPlanStore(postgres_database.database)
    state = stored.tick_state(phone.plan_id)
    # Each box keeps its winner only: an acknowledged tick is kept, or outranked by one kept.
    lost = [tick for tick in acknowledged if merge.merge(state, [tick]) != state]
    assert lost == []
    # And the plan answers again once a host is back.
    server.start()
    try:
        assert phone.post_sync([], 0).get_json()["events"] != []
    finally:
        server.stop()
