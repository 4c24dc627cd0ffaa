"""Command-line jobs: `flask --app pwa reminders send-due` and the scheduler loop.

Run `send-due` from cron or a systemd timer (every 5 minutes is plenty), or
let `make run` start `reminders run`, which gunicorn's master spawns once,
beside the web workers, never one per worker.
"""

from __future__ import annotations

import os
import time
from datetime import UTC
from datetime import datetime

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from . import notify

reminders = AppGroup("reminders", help="Web Push reminders for sessions and daily aftercare.")


def init_app(app: Flask) -> None:
    app.cli.add_command(reminders)


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
