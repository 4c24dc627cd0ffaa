"""Command-line jobs: practitioner accounts, `reminders send-due` and the scheduler loop.

`flask --app pwa db upgrade` brings a PostgreSQL database's schema to this code's
version (DATABASE_URL; a deployment step, never run by the app hosts themselves).

`flask --app pwa practitioner create EMAIL` makes a console account (the
password from PWA_PASSWORD, else a prompt); `list`, `set-password EMAIL`,
`disable EMAIL`, `enable EMAIL` and `end-sessions EMAIL` manage them.

Run `send-due` from cron or a systemd timer (every 5 minutes is plenty), or
let `make run` start `reminders run`, which gunicorn's master spawns once,
beside the web workers, never one per worker.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from .. import storage
from ..clinic import accounts
from ..reminders import notify

reminders = AppGroup("reminders", help="Web Push reminders for sessions and daily aftercare.")
practitioner = AppGroup("practitioner", help="Practitioner accounts for the clinic console.")
plans_group = AppGroup("plans", help="Stored plans: retention.")
database = AppGroup("db", help="The PostgreSQL database at DATABASE_URL: its schema.")


def init_app(app: Flask) -> None:
    app.cli.add_command(reminders)
    app.cli.add_command(practitioner)
    app.cli.add_command(plans_group)
    app.cli.add_command(database)


@database.command("import-files")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--verify", is_flag=True, help="Then compare every plan and account, both sides.")
def import_files_command(source: Path, verify: bool):
    """Move an embedded deployment's data folder SOURCE into the database.

    Run it while the app hosts are stopped; running it again is harmless (a plan the
    database holds already is left as it is).
    """
    if not current_app.config["DATABASE_URL"]:
        raise click.ClickException("DATABASE_URL is not set: there is no database to import into")
    sealer = current_app.extensions["secret_box"]
    with _database_errors():
        storage.check_schema(current_app.config)
        report = storage.import_files(current_app.config, source, sealer, verify)
    click.echo(
        f"{report.plans_imported} plans imported ({report.events} events), "
        f"{report.plans_already_there} already there; {report.practitioners} accounts; "
        f"secrets moved: {', '.join(report.secrets) or 'none (the database had plans)'}"
    )
    if verify:
        if report.mismatches:
            raise click.ClickException("differs: " + "; ".join(report.mismatches))
        click.echo("Verified: every plan and account reads the same from the database.")


@database.command("upgrade")
def upgrade_database():
    """Bring the schema to this code's version: once per deployment, before the hosts start."""
    if not current_app.config["DATABASE_URL"]:
        raise click.ClickException("DATABASE_URL is not set: the embedded files need no schema")
    with _database_errors():
        before, after = storage.upgrade_schema(current_app.config)
    if before == after:
        click.echo(f"The database schema was already at revision {after}: nothing to do.")
    else:
        click.echo(f"The database schema went from {before or 'empty'} to revision {after}.")


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached, or is not ready, as one line, not a traceback."""
    try:
        yield
    except storage.SchemaOutOfDate as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:
        said = storage.database_trouble(error)
        if said is None:
            raise
        raise click.ClickException(f"the database at DATABASE_URL: {said}") from None


@plans_group.command("purge")
@click.option("--days", type=int, default=None, help="Override RETENTION_DAYS.")
@click.option("--dry-run", is_flag=True, help="List what would go; delete nothing.")
def purge_plans(days: int | None, dry_run: bool):
    """Delete plans with no activity (no device sync) for RETENTION_DAYS days."""
    days = current_app.config["RETENTION_DAYS"] if days is None else days
    if days <= 0:
        click.echo("retention is off (RETENTION_DAYS = 0): nothing deleted")
        return
    store = current_app.extensions["plans"]
    clinic = current_app.extensions["clinic"]
    cutoff = int(time.time() * 1000) - days * 24 * 60 * 60 * 1000
    gone = store.inactive_plans(cutoff)
    if not dry_run:
        for plan_id in gone:
            store.delete_plan(plan_id)
            clinic.remove_client(plan_id)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {len(gone)} plans with no activity for {days} days")


@practitioner.command("create")
@click.argument("email")
def create_practitioner(email: str):
    """Create a console account for EMAIL (password: PWA_PASSWORD, or asked for)."""
    try:
        address = accounts.check_email(email)
        password_hash = accounts.hash_password(
            accounts.check_new_password(_new_password(), address)
        )
        clinic = current_app.extensions["clinic"]
        clinic.add_practitioner(address, password_hash, int(time.time() * 1000))
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    except storage.AccountExists:
        raise click.ClickException(f"an account for {address} already exists") from None
    click.echo(f"Created a console account for {address}; log in at /console/login")


@practitioner.command("list")
def list_practitioners():
    """Every console account: two-step sign-in, disabled, how many browsers are signed in."""
    for account in _clinic().list_practitioners():
        created = datetime.fromtimestamp(account["created_ms"] / 1000, UTC).date()
        marks = [
            "two-step" if account.get("totp_secret") else "password only",
            f"{account['sessions']} signed in",
            *(["[disabled]"] if account.get("disabled") else []),
        ]
        click.echo(f"{account['email']}  created {created}  " + ", ".join(marks))


@practitioner.command("set-password")
@click.argument("email")
def set_password(email: str):
    """Give EMAIL a new password (PWA_PASSWORD, or asked for); it is signed out everywhere."""
    account = _account(email)
    try:
        password = accounts.check_new_password(_new_password(), account["email"])
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    clinic = _clinic()
    clinic.set_password_hash(account["id"], accounts.hash_password(password))
    clinic.end_console_sessions(account["id"])
    click.echo(f"New password set for {account['email']}; every session of it was ended")


@practitioner.command("disable")
@click.argument("email")
def disable(email: str):
    """Stop EMAIL from logging in and end its sessions (its clients stay)."""
    _set_disabled(email, True, "Disabled {}: it cannot log in until `enable`")


@practitioner.command("enable")
@click.argument("email")
def enable(email: str):
    """Let a disabled EMAIL log in again."""
    _set_disabled(email, False, "Enabled {}")


def _set_disabled(email: str, disabled: bool, done: str) -> None:
    account = _account(email)
    _clinic().set_disabled(account["id"], disabled)
    click.echo(done.format(account["email"]))


@practitioner.command("reset-two-step")
@click.argument("email")
def reset_two_step(email: str):
    """Turn an account's two-step sign-in off (a lost phone, a replaced key)."""
    account = _account(email)
    clinic = _clinic()
    clinic.set_totp(account["id"], None)
    clinic.end_console_sessions(account["id"])
    click.echo(
        f"Two-step sign-in is off for {account['email']} and its sessions are ended; "
        "it can set up a new authenticator app after logging in"
    )


@practitioner.command("end-sessions")
@click.argument("email")
def end_sessions(email: str):
    """Sign EMAIL out of every browser (a lost laptop, a shared computer)."""
    account = _account(email)
    ended = _clinic().end_console_sessions(account["id"])
    click.echo(f"Ended {ended} console sessions of {account['email']}")


def _clinic():
    return current_app.extensions["clinic"]


def _account(email: str) -> dict:
    try:
        address = accounts.check_email(email)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    account = _clinic().find_practitioner(address)
    if account is None:
        raise click.ClickException(f"no account for {address}")
    return account


def _new_password() -> str:
    password = os.environ.get("PWA_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "no password: set PWA_PASSWORD or run this in a terminal to be asked"
            )
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def push_settings() -> notify.PushSettings | None:
    """The configured push settings, or None when push is off (no PUSH_CONTACT)."""
    config = current_app.config
    if not config["PUSH_CONTACT"]:
        return None
    return notify.PushSettings(
        key_path=config["VAPID_KEY_PATH"],
        contact=config["PUSH_CONTACT"],
        allowed_hosts=tuple(config["PUSH_SERVICE_HOSTS"]),
        quiet_start=config["QUIET_HOURS_START"],
        quiet_end=config["QUIET_HOURS_END"],
    )


def send_due_now() -> str:
    settings = push_settings()
    if settings is None:
        return "push is off: set PUSH_CONTACT to send reminders"
    app = current_app
    counts = notify.send_due(
        app.extensions["plans"], app.extensions["schedules"], settings, datetime.now(UTC)
    )
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing due"


@reminders.command("send-due")
def send_due_command():
    """Send every reminder that is due and was not sent before (safe to overlap)."""
    click.echo(send_due_now())


@reminders.command("run")
@click.option("--every", default=60, show_default=True, help="Seconds between rounds.")
def run_command(every: int):
    """Send due reminders every so often until the parent process (gunicorn) goes away."""
    if push_settings() is None:
        click.echo("reminders: push is off (no PUSH_CONTACT); the calendar and Today still remind")
        return
    parent = os.getppid()
    # On several hosts every host runs a scheduler; the one holding the lease sends (the
    # shared claim would keep a reminder from going twice anyway, but rounds cost work).
    lease, sending = storage.scheduler_lease(current_app.config), False
    while os.getppid() == parent:
        if lease.held() != sending:
            sending = not sending
            click.echo(f"reminders: this host {'sends' if sending else 'no longer sends'}")
        if not sending:
            time.sleep(every)
            continue
        try:
            message = send_due_now()
            if message != "nothing due":
                click.echo(f"reminders: {message}")
        except Exception as error:  # noqa: BLE001 - one bad round must not stop reminders
            click.echo(f"reminders: round failed: {error!r}", err=True)
        time.sleep(every)
