"""The clinic store's count of wrong logins (contract.ClinicStore), on every backend.

The wait rule is written twice, in Python (storage/rules.py) for the files and in SQL
for PostgreSQL (one statement); these tests hold both to rules.login_wait_ms.
"""

from __future__ import annotations

import pytest

from pwa.storage import FileClinicStore
from pwa.storage import clinic_file
from pwa.storage import rules
from pwa.storage.postgres import PostgresClinicStore

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
KEY = "0f" * 16 + "/198.51.100.7"
OTHER = "a1" * 16
LONGEST_MS = 15 * 60 * 1000


@pytest.fixture(params=["memory", "json", "postgres"])
def clinic(request, tmp_path):
    if request.param == "postgres":
        database = request.getfixturevalue("postgres_database")
        database.empty()
        return PostgresClinicStore(database.database, sealer=None)
    if request.param == "memory":
        return FileClinicStore()
    return FileClinicStore(tmp_path / "clinic")


def test_free_failures_set_no_wait_and_the_last_free_one_sets_two_seconds(clinic):
    for n in (1, 2):
        assert clinic.count_login_failure(KEY, 3, LONGEST_MS, NOW + n) == n
    assert clinic.login_wait_ends_ms([KEY], NOW + 2) == 0
    assert clinic.count_login_failure(KEY, 3, LONGEST_MS, NOW + 3) == 3
    assert clinic.login_wait_ends_ms([KEY, OTHER], NOW + 3) == NOW + 3 + 2000
    assert clinic.login_wait_ends_ms([KEY], NOW + 3 + 2000) == 0, "the wait ends"
    assert clinic.login_wait_ends_ms([OTHER], NOW + 3) == 0, "counted per key"


@pytest.mark.parametrize(("free", "longest_ms"), [(1, LONGEST_MS), (5, 3 * 60 * 1000), (2, 10**9)])
def test_each_failure_sets_the_wait_the_rule_gives(clinic, free, longest_ms):
    for failures in range(1, 46):
        now = NOW + failures
        assert clinic.count_login_failure(KEY, free, longest_ms, now) == failures
        wait = rules.login_wait_ms(failures, free, longest_ms)
        assert clinic.login_wait_ends_ms([KEY], now) == (now + wait if wait else 0), failures


def test_the_rule_doubles_from_two_seconds_up_to_the_longest():
    waits = [rules.login_wait_ms(n, 3, 60_000) for n in range(1, 10)]
    assert waits == [0, 0, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
    assert rules.login_wait_ms(10**6, 3, 10**15) == 2000 * 2**rules.LOGIN_MOST_DOUBLINGS


def test_a_new_window_starts_the_count_again_but_a_running_wait_is_kept(clinic):
    late = NOW + rules.LOGIN_FAILURE_WINDOW_MS - 1000
    clinic.count_login_failure(KEY, 1, LONGEST_MS, NOW)
    for n in range(12):
        clinic.count_login_failure(KEY, 1, LONGEST_MS, late - 12 + n)
    long_wait_ends = clinic.login_wait_ends_ms([KEY], late)
    assert long_wait_ends == late - 1 + LONGEST_MS
    after_window = NOW + rules.LOGIN_FAILURE_WINDOW_MS + 5
    assert clinic.count_login_failure(KEY, 1, LONGEST_MS, after_window) == 1
    assert clinic.login_wait_ends_ms([KEY], after_window) == long_wait_ends


def test_forgetting_clears_the_count_and_the_wait(clinic):
    for n in range(3):
        clinic.count_login_failure(KEY, 2, LONGEST_MS, NOW + n)
        clinic.count_login_failure(OTHER, 2, LONGEST_MS, NOW + n)
    clinic.forget_login_failures([KEY])
    assert clinic.login_wait_ends_ms([KEY], NOW + 3) == 0
    assert clinic.count_login_failure(KEY, 2, LONGEST_MS, NOW + 4) == 1
    assert clinic.login_wait_ends_ms([OTHER], NOW + 3) > 0, "only the keys named"
    clinic.forget_login_failures(["never-counted"])


def stored_keys(clinic) -> set[str]:
    """The keys the backend holds a count for, read the backend's own way."""
    if isinstance(clinic, FileClinicStore):
        if not clinic.files.exists(clinic_file.CLINIC):
            return set()
        with clinic.files.reading(clinic_file.CLINIC) as tdb:
            return {row["key"] for row in tdb.table(clinic_file.LOGIN_FAILURES).all()}
    with clinic.db.engine.connect() as connection:
        return set(connection.exec_driver_sql("SELECT key FROM login_failures").scalars())


def test_counts_whose_window_and_wait_ended_are_swept_out(clinic):
    stale = [f"{n:032x}" for n in range(50)]
    for key in stale:
        clinic.count_login_failure(key, 1, LONGEST_MS, NOW)
    clinic.count_login_failure(OTHER, 1, LONGEST_MS, NOW + LONGEST_MS)  # its wait still runs
    assert stored_keys(clinic) == {*stale, OTHER}
    later = NOW + rules.LOGIN_FAILURE_WINDOW_MS + 1
    clinic.count_login_failure(KEY, 5, LONGEST_MS, later)
    assert stored_keys(clinic) == {KEY, OTHER}
