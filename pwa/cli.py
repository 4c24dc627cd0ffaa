"""Command-line jobs: practitioner accounts, `reminders send-due` and the scheduler loop.

`flask --app pwa practitioner create EMAIL` makes a console account (the
password from PWA_PASSWORD, else a prompt).

Run `send-due` from cron or a systemd timer (every 5 minutes is plenty), or
let `make run` start `reminders run`, which gunicorn's master spawns once,
beside the web workers, never one per worker.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC
from datetime import datetime

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from . import accounts
from . import notify
from . import repository

reminders = AppGroup("reminders", help="Web Push reminders for sessions and daily aftercare.")
practitioner = AppGroup("practitioner", help="Practitioner accounts for the clinic console.")
plans_group = AppGroup("plans", help="Stored plans: retention.")


def init_app(app: Flask) -> None:
    app.cli.add_command(reminders)
    app.cli.add_command(practitioner)
    app.cli.add_command(plans_group)


@plans_group.command("purge")
@click.option("--days", type=int, default=None, help="Override RETENTION_DAYS.")
@click.option("--dry-run", is_flag=True, help="List what would go; delete nothing.")
def purge_plans(days: int | None, dry_run: bool):
    """Delete plans with no activity (no device sync) for RETENTION_DAYS days."""
    days = current_app.config["RETENTION_DAYS"] if days is None else days
    if days <= 0:
        click.echo("retention is off (RETENTION_DAYS = 0): nothing deleted")
        return
    store = current_app.extensions["store"]
    clinic = current_app.extensions["clinic_store"]
    cutoff = int(time.time() * 1000) - days * 24 * 60 * 60 * 1000
    gone = 0
    for plan_id in store.plan_ids():
        try:
            if repository.last_activity_ms(store, plan_id) >= cutoff:
                continue
        except repository.PlanNotFound:
            continue
        gone += 1
        if not dry_run:
            repository.delete_plan(store, plan_id)
            repository.remove_client(clinic, plan_id)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {gone} plans with no activity for {days} days")


@practitioner.command("create")
@click.argument("email")
def create_practitioner(email: str):
    """Create a console account for EMAIL (password: PWA_PASSWORD, or asked for)."""
    try:
        address = accounts.check_email(email)
        password = os.environ.get("PWA_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    "no password: set PWA_PASSWORD or run this in a terminal to be asked"
                )
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        password_hash = accounts.hash_password(password)
        clinic = current_app.extensions["clinic_store"]
        repository.add_practitioner(clinic, address, password_hash, int(time.time() * 1000))
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    except repository.AccountExists:
        raise click.ClickException(f"an account for {address} already exists") from None
    click.echo(f"Created a console account for {address}; log in at /console/login")


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
        app.extensions["store"], app.extensions["schedules"], settings, datetime.now(UTC)
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
    while os.getppid() == parent:
        try:
            message = send_due_now()
            if message != "nothing due":
                click.echo(f"reminders: {message}")
        except Exception as error:  # noqa: BLE001 - one bad round must not stop reminders
            click.echo(f"reminders: round failed: {error!r}", err=True)
        time.sleep(every)
