"""Moving an embedded deployment (a DATA_DIR of files) into PostgreSQL.

Every plan keeps its events' original seq numbers, so the cursors phones hold stay
valid: a phone syncs on from where it was.  Each plan is one transaction, and a plan the
database already holds is left alone, so running the import again (after a failure, or
twice by mistake) is harmless.  The clinic's accounts keep their ids; two-step secrets
and the codes of waiting invitations move sealed as they are (keep the same `totp.key`).
The secret key and the VAPID key move too while the database holds no plan yet: a new VAPID
key would end every phone's push subscription.  `verify` compares what both stores answer,
plan by plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from ...care import merge
from .. import clinic_file
from .. import plan_events
from .. import plan_file
from ..store import Store
from .database import Database
from .schema import calendar_links
from .schema import clients
from .schema import console_sessions
from .schema import deployment_secrets
from .schema import devices
from .schema import events as event_rows
from .schema import invitations
from .schema import join_tokens
from .schema import plans
from .schema import practitioners
from .schema import push_subscriptions
from .schema import reminders_sent


@dataclass
class Report:
    """What an import did."""

    plans_imported: int = 0
    plans_already_there: int = 0
    events: int = 0
    practitioners: int = 0
    secrets: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def import_files(source: Path, db: Database, progress: Callable[[str], None] = print) -> Report:
    """Copy the plans, the clinic and the shared secrets kept in `source` into `db`."""
    report = Report()
    with db.engine.connect() as connection:
        empty = connection.execute(select(func.count()).select_from(plans)).scalar() == 0
    if empty:
        report.secrets = _import_secrets(source, db)
    files = Store(source / "plans")
    for plan_id in files.plan_ids():
        with db.writing() as connection:
            stored = _import_plan(files, plan_id, connection)
        if stored is None:
            report.plans_already_there += 1
            continue
        report.plans_imported += 1
        report.events += stored
        if report.plans_imported % 1000 == 0:
            progress(f"{report.plans_imported} plans imported")
    clinic = source / "clinic"
    if (clinic / f"{clinic_file.CLINIC}.json").exists():
        with db.writing() as connection:
            report.practitioners = _import_clinic(Store(clinic), connection)
    return report


def _import_plan(files: Store, plan_id: str, connection: Connection) -> int | None:
    """One plan's rows; how many events, or None when the database holds the plan already."""
    with files.reading(plan_id) as tdb:
        meta = plan_file._meta(tdb)
        if meta is None:
            return 0
        tables = {name: [dict(row) for row in tdb.table(name).all()] for name in _PLAN_TABLES}
        stored = plan_events.PlanEvents(tdb.storage.read(), meta).after(0)
    made = connection.execute(
        insert(plans)
        .values(plan_id=plan_id, plan=meta["plan"], seq=meta["seq"], created_ms=meta["created_ms"])
        .on_conflict_do_nothing()
        .returning(plans.c.plan_id)
    ).first()
    if made is None:
        return None
    kept = _one_tick_per_box(stored)
    rows = {
        devices: [
            {
                "plan_id": plan_id,
                "device_id": device["device"],
                "number": number,
                "name": device.get("name", ""),
                "credential_hash": device["credential_hash"],
                "added_ms": device["added_ms"],
                "last_seen_ms": device["last_seen_ms"],
                "revoked": device["revoked"],
            }
            for number, device in enumerate(tables[plan_file.DEVICES], start=1)
        ],
        join_tokens: [
            {"plan_id": plan_id, **{k: t[k] for k in ("token_hash", "expires_ms", "used_ms")}}
            for t in tables[plan_file.TOKENS]
        ],
        calendar_links: [
            {
                "plan_id": plan_id,
                "token_hash": link["token_hash"],
                "explicit_titles": link["explicit_titles"],
                "made_ms": link["made_ms"],
                # A feed made before its maker was recorded goes with any device removed.
                "made_by": link.get("made_by", ""),
            }
            for link in tables[plan_file.CALENDAR][:1]
        ],
        push_subscriptions: [
            {
                "plan_id": plan_id,
                "device_id": entry["device"],
                "subscription": entry["subscription"],
                "prefs": entry["prefs"],
                "added_ms": entry["added_ms"],
                "failures": entry.get("failures", 0),
                "retry_ms": entry.get("retry_ms", 0),
            }
            for entry in tables[plan_file.PUSH]
        ],
        reminders_sent: [
            {"plan_id": plan_id, "key": s["key"], "device_id": s["device"], "sent_ms": s["sent_ms"]}
            for s in tables[plan_file.SENT]
        ],
        event_rows: [_event_row(plan_id, event) for event in kept],
    }
    for table, values in rows.items():
        if values:
            connection.execute(insert(table).values(values).on_conflict_do_nothing())
    connection.execute(
        plans.update().where(plans.c.plan_id == plan_id).values(event_count=len(kept))
    )
    return len(kept)


_PLAN_TABLES = (
    plan_file.DEVICES,
    plan_file.TOKENS,
    plan_file.CALENDAR,
    plan_file.PUSH,
    plan_file.SENT,
)


def _one_tick_per_box(stored: list[dict]) -> list[dict]:
    """The events as the file holds them, less any tick that lost its box (a file written
    before only winners were kept may hold several): the same state for every phone."""
    winners = {id(event) for event in merge.merge({}, stored).values()}
    return [e for e in stored if merge.is_session_event(e) or id(e) in winners]


def _event_row(plan_id: str, event: dict) -> dict:
    return {
        "plan_id": plan_id,
        "event_id": event["id"],
        "seq": event["seq"],
        **{
            name: event.get(name)
            for name in ("device", "counter", "ts", "day", "item", "done", "session", "time")
        },
        "status": event.get("status"),
    }


def _import_clinic(files: Store, connection: Connection) -> int:
    with files.reading(clinic_file.CLINIC) as tdb:
        accounts = [dict(row) for row in tdb.table(clinic_file.PRACTITIONERS).all()]
        sessions = [dict(row) for row in tdb.table(clinic_file.CONSOLE_SESSIONS).all()]
        records = [dict(row) for row in tdb.table(clinic_file.CLIENTS).all()]
        waiting = [dict(row) for row in tdb.table(clinic_file.INVITATIONS).all()]
    columns = [column.name for column in practitioners.columns]
    # An invitation stored before codes were kept has no code_sealed: it reads as None.
    invitation_columns = [column.name for column in invitations.columns]
    rows = {
        practitioners: [
            {name: account.get(name, False if name == "disabled" else None) for name in columns}
            for account in accounts
        ],
        console_sessions: sessions,
        clients: records,
        invitations: [{name: row.get(name) for name in invitation_columns} for row in waiting],
    }
    for table, values in rows.items():
        if values:
            connection.execute(insert(table).values(values).on_conflict_do_nothing())
    return len(accounts)


def _import_secrets(source: Path, db: Database) -> list[str]:
    moved = []
    for name, path in (("secret_key", "secret_key"), ("vapid_private_key", "vapid_private.pem")):
        file = source / path
        if not file.exists():
            continue
        value = file.read_text(encoding="ascii")
        value = value.strip() if name == "secret_key" else value
        with db.writing() as connection:
            connection.execute(
                insert(deployment_secrets)
                .values(name=name, value=value)
                .on_conflict_do_update(index_elements=["name"], set_={"value": value})
            )
        moved.append(name)
    return moved


def verify(source: Path, db: Database, sealer) -> list[str]:
    """The plans and accounts whose answers differ between the files and the database."""
    from ..file_backend import FileClinicStore
    from ..file_backend import FilePlanStore
    from .clinic_store import PostgresClinicStore
    from .plan_store import PostgresPlanStore

    files, database = FilePlanStore(source / "plans"), PostgresPlanStore(db)
    differ = []
    for plan_id in files.plan_ids():
        if files.get_plan(plan_id) is None:
            continue  # not a plan file
        before, after = files.export_plan(plan_id), database.export_plan(plan_id)
        same = (
            {k: v for k, v in before.items() if k != "events"}
            == {k: v for k, v in after.items() if k != "events"}
            and files.tick_state(plan_id) == database.tick_state(plan_id)
            and files.session_events(plan_id) == database.session_events(plan_id)
            and files.changes_since(plan_id, 0)[1] == database.changes_since(plan_id, 0)[1]
        )
        if not same:
            differ.append(f"plan {plan_id}")
    clinic = FileClinicStore(source / "clinic", sealer=sealer)
    moved = PostgresClinicStore(db, sealer)
    for account in clinic.list_practitioners():
        # A field an older file never wrote reads as empty in the database.
        if _set_fields(moved.get_practitioner(account["id"])) != _set_fields(
            clinic.get_practitioner(account["id"])
        ):
            differ.append(f"practitioner {account['email']}")
        elif moved.clients_of(account["id"]) != clinic.clients_of(account["id"]):
            differ.append(f"clients of {account['email']}")
    return differ


def _set_fields(account: dict | None) -> dict | None:
    return None if account is None else {k: v for k, v in account.items() if v is not None}
