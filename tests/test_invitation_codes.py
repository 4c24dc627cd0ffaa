"""A waiting invitation's code, kept sealed beside its hash (contract.ClinicStore), on every
backend: the console shows the same invitation again while it is unused and unexpired, and
never once it is used, expired, replaced or its client gone."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet

from pwa.clinic import accounts
from pwa.core.sealed import SecretBox
from pwa.storage import FileClinicStore
from pwa.storage import clinic_file
from pwa.storage.postgres import PostgresClinicStore
from pwa.storage.postgres import import_files

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 24 * 60 * 60 * 1000
PLAN = "plan-" + "a" * 22
OTHER_PLAN = "plan-" + "b" * 22
KEY = Fernet.generate_key()


def stores(kind: str, request, tmp_path, key: bytes = KEY):
    box = SecretBox(key)
    if kind == "postgres":
        database = request.getfixturevalue("postgres_database")
        return PostgresClinicStore(database.database, sealer=box)
    if kind == "memory":
        return FileClinicStore(sealer=box)
    return FileClinicStore(tmp_path / "clinic", sealer=box)


@pytest.fixture(params=["memory", "json", "postgres"])
def kind(request):
    if request.param == "postgres":
        request.getfixturevalue("postgres_database").empty()
    return request.param


@pytest.fixture
def clinic(kind, request, tmp_path):
    store = stores(kind, request, tmp_path)
    # The clinic file exists once an account does, before any invitation.
    store.add_practitioner("dr.ana@harbour-skin.co.uk", "argon2-hash", NOW)
    store.add_client(PLAN, "someone", "Bea", NOW)
    return store


def invite(clinic, plan_id=PLAN, expires_ms=NOW + 7 * DAY_MS, keep=True) -> str:
    code = accounts.new_secret()
    clinic.add_invitation(accounts.digest(code), plan_id, expires_ms, code if keep else None)
    return code


def stored_rows(clinic) -> list[dict]:
    """The invitations as the store keeps them (the clinic file, or PostgreSQL's table)."""
    if isinstance(clinic, FileClinicStore):
        with clinic.files.reading(clinic_file.CLINIC) as tdb:
            return [dict(row) for row in tdb.table(clinic_file.INVITATIONS).all()]
    with clinic.db.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM invitations").all()
    return [dict(row._mapping) for row in rows]


def test_the_waiting_invitation_is_shown_again_with_its_code_and_expiry(clinic):
    code = invite(clinic)
    for moment in (NOW, NOW + 7 * DAY_MS - 1):
        assert clinic.waiting_invitation(PLAN, moment) == {
            "code": code,
            "expires_ms": NOW + 7 * DAY_MS,
        }
    assert clinic.waiting_invitation(OTHER_PLAN, NOW) is None, "only the plan's own"


def test_the_code_is_kept_sealed_never_in_plain(clinic):
    code = invite(clinic)
    [row] = stored_rows(clinic)
    assert row["code_hash"] == accounts.digest(code)
    assert SecretBox.is_sealed(row["code_sealed"])
    assert code not in json.dumps(row)


def test_an_expired_invitation_is_not_shown(clinic):
    invite(clinic, expires_ms=NOW + 1000)
    assert clinic.waiting_invitation(PLAN, NOW + 1000) is None
    assert clinic.waiting_invitation(PLAN, NOW + DAY_MS) is None


def test_a_used_invitation_is_not_shown_and_its_code_is_forgotten(clinic):
    code = invite(clinic)
    assert clinic.redeem_invitation(accounts.digest(code), NOW + 5) == PLAN
    assert clinic.waiting_invitation(PLAN, NOW + 6) is None
    [row] = stored_rows(clinic)
    assert row["used_ms"] == NOW + 5 and row["code_sealed"] is None
    assert clinic.redeem_invitation(accounts.digest(code), NOW + 7) is None, "once only"


def test_a_new_invitation_replaces_the_one_shown(clinic):
    first = invite(clinic)
    second = invite(clinic, expires_ms=NOW + 2 * DAY_MS)
    shown = clinic.waiting_invitation(PLAN, NOW)
    assert shown == {"code": second, "expires_ms": NOW + 2 * DAY_MS}
    assert clinic.invitation_plan(accounts.digest(first), NOW) is None


def test_an_invitation_made_without_its_code_is_never_shown(clinic):
    code = invite(clinic, keep=False)
    assert clinic.waiting_invitation(PLAN, NOW) is None
    assert clinic.invitation_plan(accounts.digest(code), NOW) == PLAN, "it still works"


def test_removing_the_client_removes_the_invitation(clinic):
    invite(clinic)
    clinic.remove_client(PLAN)
    assert clinic.waiting_invitation(PLAN, NOW) is None
    assert stored_rows(clinic) == []


def test_a_code_another_key_sealed_is_not_shown_and_the_log_says_why(
    kind, request, tmp_path, clinic, caplog
):
    invite(clinic)
    replaced = stores(kind, request, tmp_path, key=Fernet.generate_key())
    if kind == "memory":
        replaced = clinic
        replaced.files.sealer = SecretBox(Fernet.generate_key())
    with caplog.at_level(logging.WARNING):
        assert replaced.waiting_invitation(PLAN, NOW) is None
    assert "cannot be opened with this key" in caplog.text


def test_no_clinic_yet_means_no_waiting_invitation(tmp_path):
    assert (
        FileClinicStore(tmp_path / "clinic", sealer=SecretBox(KEY)).waiting_invitation(PLAN, NOW)
        is None
    )


def test_the_import_moves_a_waiting_code_sealed_and_an_older_invitation_without_one(
    tmp_path, postgres_database
):
    postgres_database.empty()
    files = FileClinicStore(tmp_path / "data" / "clinic", sealer=SecretBox(KEY))
    files.add_practitioner("dr.ana@harbour-skin.co.uk", "argon2-hash", NOW)
    kept = invite(files)
    older = invite(files, plan_id=OTHER_PLAN)
    # An invitation written before codes were kept has no code_sealed field at all.
    with files.files.locked(clinic_file.CLINIC) as tdb:
        table = tdb.table(clinic_file.INVITATIONS)
        [row] = table.search(lambda r: r["plan_id"] == OTHER_PLAN)
        table.update(lambda r: r.pop("code_sealed"), doc_ids=[row.doc_id])
    (tmp_path / "data" / "plans").mkdir()

    import_files.import_files(tmp_path / "data", postgres_database.database, progress=print)

    moved = PostgresClinicStore(postgres_database.database, sealer=SecretBox(KEY))
    assert moved.waiting_invitation(PLAN, NOW) == {"code": kept, "expires_ms": NOW + 7 * DAY_MS}
    assert moved.waiting_invitation(OTHER_PLAN, NOW) is None
    assert moved.invitation_plan(accounts.digest(older), NOW) == OTHER_PLAN
