"""The PostgreSQL backend on the machine's real PostgreSQL: the merge, cursor readers, the
schema's migrations, and a real server started with DATABASE_URL.

The storage contract itself (every operation, on both backends) is tests/test_storage.py;
the API suites run on both through conftest.py's `both_backends`.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import psycopg
import pytest
from alembic import command
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from support import ROOT
from support import clean_environment

from pwa import create_app
from pwa import storage
from pwa.care import merge
from pwa.core.config import ConfigError
from pwa.storage import postgres
from pwa.storage.postgres import database as postgres_database

NOW = 1_767_225_600_000
EMAIL = "dr.ana@harbour-skin.co.uk"
PASSWORD = "a long practitioner passphrase"
PLAN_ID = "plan-0123456789abcdef"
# Ids that sort differently in byte order and in a language's collation ('a' < 'B' is
# false in "C", true under ICU): the merge's ties are decided by them.
DEVICES = ["Device-A1", "device-a1", "device_A1", "DEVICE-b2"]
BOXES = [("2026-01-01", "hands-off"), ("2026-01-01", "spf"), ("2026-01-02", "hands-off")]


@pytest.fixture
def plans(postgres_database):
    postgres_database.empty()
    return postgres.PostgresPlanStore(postgres_database.database)


def new_plan(store) -> None:
    store.create_plan(PLAN_ID, {"note": "test"}, DEVICES[0], "hash-0", NOW)
    for number, device in enumerate(DEVICES[1:], start=1):
        store.add_device(PLAN_ID, device, f"hash-{number}", NOW)


ticks = st.builds(
    lambda device, box, ts, done, counter, suffix: {
        "id": f"{device}-{suffix}",
        "device": device,
        "counter": counter,
        "ts": NOW - 1000 + ts,
        "day": box[0],
        "item": box[1],
        "done": done,
    },
    device=st.sampled_from(DEVICES),
    box=st.sampled_from(BOXES),
    ts=st.integers(0, 3),  # few timestamps: ties are common
    done=st.booleans(),
    counter=st.integers(0, 3),
    suffix=st.text("abcXYZ_-", min_size=4, max_size=6),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sent=st.lists(ticks, min_size=1, max_size=30, unique_by=lambda t: t["id"]), data=st.data())
def test_the_state_equals_the_merge_of_everything_sent_in_any_grouping(plans, sent, data):
    plans_reset(plans)  # each example starts on an empty database
    new_plan(plans)
    files = storage.FilePlanStore()
    new_plan(files)
    # Sent in random batches, each from its own device, some batches sent twice.
    order = data.draw(st.permutations(sent))
    for device in DEVICES:
        mine = [tick for tick in order if tick["device"] == device]
        while mine:
            size = data.draw(st.integers(1, len(mine)))
            batch, mine = mine[:size], mine[size:]
            for _ in range(data.draw(st.integers(1, 2))):
                plans.apply_events(PLAN_ID, device, batch, NOW)
                files.apply_events(PLAN_ID, device, batch, NOW)
    expected = merge.merge({}, sent)
    assert plans.tick_state(PLAN_ID) == expected
    # And the two backends keep exactly the same events.
    assert plans.changes_since(PLAN_ID, 0)[0] == files.changes_since(PLAN_ID, 0)[0]


def plans_reset(store) -> None:
    with store.db.writing() as connection:
        connection.exec_driver_sql("TRUNCATE plans CASCADE")


def test_cursor_readers_never_miss_an_event_while_devices_write(plans):
    new_plan(plans)
    writers, batches = DEVICES, 40
    done = threading.Event()
    seen: dict[int, list[dict]] = {}
    failures: list[BaseException] = []

    def write(device: str) -> None:
        try:
            for n in range(batches):
                day, item = BOXES[n % len(BOXES)]
                tick = {
                    "id": f"{device}-{n:04d}",
                    "device": device,
                    "counter": n,
                    "ts": NOW - 10_000 + n,
                    "day": day,
                    "item": f"{item}-{DEVICES.index(device)}",
                    "done": n % 2 == 0,
                }
                plans.apply_events(PLAN_ID, device, [tick], NOW)
        except BaseException as error:
            failures.append(error)

    def read(reader: int) -> None:
        cursor, got = 0, []
        try:
            while True:
                finished = done.is_set()
                page = plans.snapshot(PLAN_ID).page(cursor, 7)
                got += page.events
                cursor = page.cursor
                if finished and not page.more:
                    break
        except BaseException as error:
            failures.append(error)
        seen[reader] = got

    readers = [threading.Thread(target=read, args=(n,)) for n in range(3)]
    writing = [threading.Thread(target=write, args=(device,)) for device in writers]
    for thread in readers + writing:
        thread.start()
    for thread in writing:
        thread.join(timeout=120)
    done.set()
    for thread in readers:
        thread.join(timeout=120)
    assert failures == []
    final = plans.tick_state(PLAN_ID)
    assert len(final) == len(BOXES) * len(writers)
    for got in seen.values():
        # Each reader, merging what it was sent, ends where the plan ends.
        assert merge.merge({}, got) == final


def test_an_old_schema_is_refused_and_upgrade_brings_it_up_to_date(postgres_database):
    empty = postgres_database.url.rsplit("/", 1)[0] + "/" + postgres_database.name + "_empty"
    admin = "postgresql://" + postgres_database.url.split("://", 1)[1].rsplit("/", 1)[0]
    with psycopg.connect(admin + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{postgres_database.name}_empty"')
    try:
        config = {"DATABASE_URL": empty}
        with pytest.raises(storage.SchemaOutOfDate, match="run `make db-upgrade`"):
            storage.check_schema(config)
        storage.upgrade_schema(config)
        storage.upgrade_schema(config)  # a second run changes nothing
        storage.check_schema(config)
    finally:
        with psycopg.connect(admin + "/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{postgres_database.name}_empty" WITH (FORCE)')


def test_the_migrations_make_exactly_the_schema_the_code_describes(postgres_database):
    # Alembic compares the migrated database with schema.py: a table or column changed in
    # one and not the other fails here.
    command.check(postgres_database_config(postgres_database.url))


def postgres_database_config(url: str):
    return postgres_database._alembic_config(url)


def test_db_upgrade_is_a_command_and_needs_database_url(tmp_path, postgres_database):
    files_app = create_app({"TESTING": True, "DATA_DIR": tmp_path / "files"})
    refused = files_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert refused.exit_code != 0 and "DATABASE_URL is not set" in refused.output
    app = create_app(
        {"TESTING": True, "DATA_DIR": tmp_path / "pg", "DATABASE_URL": postgres_database.url}
    )
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "already at revision" in result.output


def test_a_database_url_that_is_not_postgresql_stops_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/aftercare")
    with pytest.raises(ConfigError, match="^DATABASE_URL: must be a PostgreSQL address"):
        create_app({"TESTING": True, "DATA_DIR": tmp_path / "data"})


def test_without_database_url_no_database_library_is_loaded(tmp_path):
    script = (
        "import sys; from pwa import create_app; "
        f"app = create_app({{'DATA_DIR': {str(tmp_path / 'data')!r}}}); "
        "app.test_client().get('/'); "
        "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'alembic') if m in sys.modules))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://root@127.0.0.1/aftercare", "Error: DATABASE_URL: must be a PostgreSQL address"),
        (
            "postgresql://postgres@127.0.0.1:5432/no_such_database_here",
            "Error: DATABASE_URL: cannot use the database: connection failed",
        ),
    ],
)
def test_db_upgrade_refuses_a_bad_or_unreachable_database_in_one_line(tmp_path, url, said):
    ran = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "pwa", "db", "upgrade"],
        cwd=ROOT,
        env=clean_environment(DATA_DIR=str(tmp_path / "data"), DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode != 0
    assert said in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
