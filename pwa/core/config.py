"""Configuration: defaults, then the data folder's `config.toml`, then `PWA_*` variables.

Every setting a deployment may change is listed in `SETTINGS` with its parser,
so a typo in `config.toml` or a bad value in the environment stops the app at
start-up with a message naming the setting, instead of being silently ignored.
`test_config` (tests only) is applied last.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

import click
import limits
from flask import Flask

from .. import ROOT
from .. import storage
from ..reminders import push
from ..reminders import push_checks
from ..shell import branding
from . import data_dir

CONFIG_FILE = "config.toml"


class ConfigError(click.ClickException, ValueError):
    """A setting is missing, unknown or has a value the app cannot use.

    A ClickException too, so a `flask --app pwa …` command refused for it prints the one
    line (gunicorn's master prints it too, gunicorn.conf.py).
    """


def _text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        value = value.strip()
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return parse


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a date written as YYYY-MM-DD")


def _count(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return parse


def _phone(value: Any) -> str:
    text = _text(32)(value)
    if text and not PHONE.match(text):
        raise ValueError("must be a phone number: digits, spaces, dashes, brackets, a leading +")
    return text


PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")


def _accent(scheme: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(7)(value)
        return branding.check_accent(text, scheme) if text else ""

    return parse


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
        "",
    ):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise ValueError("must be true or false")


def _list(value: Any) -> list[str]:
    """A TOML list, or comma-separated text (for PWA_* variables)."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError("must be a list, or text with commas between the entries")
    return [str(part).strip() for part in value]


def _push_contact(value: Any) -> str:
    text = _text(200)(value)
    return push_checks.check_contact(text) if text else ""


def _push_hosts(value: Any) -> tuple[str, ...]:
    return push_checks.check_allowed_hosts(_list(value))


def _alarm_minutes(value: Any) -> tuple[int, ...]:
    minutes = tuple(_count(0, 4 * 7 * 24 * 60)(part) for part in _list(value))
    if len(minutes) > 4:
        raise ValueError("at most 4 alarms")
    return minutes


def _clock(value: Any) -> str:
    text = _text(5)(value)
    if not CLOCK.fullmatch(text):
        raise ValueError("must be a time HH:MM (24-hour)")
    return text


CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _time_zone(value: Any) -> str:
    text = _text(64)(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/London") from None
    return text


def _https_url(value: Any) -> str:
    text = _text(300)(value)
    if text and not re.fullmatch(r"https://[^\s\"'<>]+", text):
        raise ValueError("must be an https:// address")
    return text


def _public_url(value: Any) -> str:
    text = _text(200)(value)
    if text and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s\"'<>#?]*)?", text):
        raise ValueError("must be the app's address, such as https://aftercare.example.org")
    return text


def _storage_uri(value: Any) -> str:
    text = _text(300)(value)
    if text and not re.fullmatch(
        r"(memory|redis|rediss|memcached|mongodb|sqlite)(\+[a-z]+)?://\S*", text
    ):
        raise ValueError(
            "must be empty (the default) or a storage URI of the limits library, e.g. redis://host:6379"
        )
    return text


def _database_url(value: str) -> str:
    """A PostgreSQL address, spelled for SQLAlchemy's psycopg 3 dialect; empty stays empty."""
    if not value:
        return ""
    scheme, separator, rest = value.partition("://")
    if not separator or scheme not in ("postgres", "postgresql", "postgresql+psycopg") or not rest:
        raise ConfigError(
            "DATABASE_URL: must be a PostgreSQL address, postgresql://user@host:5432/database"
        )
    return f"postgresql+psycopg://{rest}"


def _redis_url(value: str) -> str:
    if value and not re.fullmatch(r"rediss?://\S+", value):
        raise ConfigError("REDIS_URL: must be a redis:// or rediss:// address")
    return value


def _rate(value: Any) -> str:
    text = _text(80)(value)
    try:
        limits.parse_many(text)
    except ValueError:
        raise ValueError("must be a rate such as '10 per minute' or '30/hour'") from None
    return text


# Setting name -> (default, parser).  Names are upper case in the app and the
# environment (PWA_CLINIC_NAME); config.toml may write them in lower case.
SETTINGS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "APP_NAME": ("Aftercare", _text(30)),
    "CLINIC_NAME": ("", _text(80)),
    # Who checked the explainer for this clinic, e.g. "Dr A. Name, dermatologist".
    "CONTENT_REVIEWER": ("", _text(120)),
    "CONTENT_REVIEWED_ON": (None, _date),
    "SECRET_KEY": (None, _text(512)),
    # Shown as a tap-to-call button on the warning-signs card.
    "CLINIC_PHONE": ("", _phone),
    # The protocol new plans start with (a file in pwa/care/protocols/ or DATA_DIR/protocols/).
    "PROTOCOL": ("microneedling-default", _text(64)),
    # How many reverse proxies stand in front of the app.  Their X-Forwarded-For,
    # -Proto and -Host are believed only then: the client's address (what rate
    # limits count by) and the public https address of the links the app makes.
    "TRUSTED_PROXIES": (0, _count(0, 5)),
    # The app's public address.  Links handed out (device links, invitations, calendar
    # feeds) are made from it, never from a request's Host header (pwa/core/links.py).
    "PUBLIC_URL": ("", _public_url),
    # Web Push: the VAPID contact (mailto: or https:) push services may write to
    # about this server's pushes.  Empty: notifications are off; the calendar
    # feed and the cards on Today still remind.
    "PUSH_CONTACT": ("", _push_contact),
    # The push services the server may POST to (nothing else: an endpoint is a URL
    # a browser gave us).  "*.push.apple.com" matches any sub-domain.
    "PUSH_SERVICE_HOSTS": (push_checks.DEFAULT_PUSH_HOSTS, _push_hosts),
    # Calendar alarms before a planned session, in minutes (1 day and 2 hours).
    "CALENDAR_ALARM_MINUTES": ((1440, 120), _alarm_minutes),
    # Clinic plans (made in the console) start in this time zone.
    "CLINIC_TIME_ZONE": ("Europe/London", _time_zone),
    # More ways to reach the clinic, on the warning-signs card.
    "CLINIC_WHATSAPP": ("", _phone),
    "CLINIC_BOOKING_URL": ("", _https_url),
    # Practitioner console sessions end after this long idle, and this long in all.
    "CONSOLE_IDLE_MINUTES": (30, _count(1, 24 * 60)),
    "CONSOLE_MAX_HOURS": (12, _count(1, 7 * 24)),
    # Wrong passwords or codes for one e-mail address from one client address that
    # cost nothing; each one after that doubles the wait before the next try (2 s,
    # 4 s, 8 s …) up to LOGIN_LOCK_MINUTES.  Counted for any e-mail, known or not.
    "LOGIN_MAX_FAILURES": (5, _count(1, 100)),
    "LOGIN_LOCK_MINUTES": (15, _count(1, 24 * 60)),
    # Where rate-limit counters live.  Empty: REDIS_URL when it is set, else a file
    # in the data folder that every worker shares (pwa/core/counters.py).
    "RATELIMIT_STORAGE_URI": ("", _storage_uri),
    # Per client address, counted across all workers: "10 per minute", "30/hour", or
    # several joined by ";".
    "LOGIN_RATE_LIMIT": ("10 per minute", _rate),
    "PLAN_RATE_LIMIT": ("30 per hour", _rate),
    "JOIN_RATE_LIMIT": ("30 per hour", _rate),
    "INVITATION_RATE_LIMIT": ("60 per hour", _rate),
    # Generous: a clinic's Wi-Fi puts many phones behind one address.
    "SYNC_RATE_LIMIT": ("600 per minute", _rate),
    # Per plan, from all its devices: an honest plan's few phones sync a few times a minute.
    "PLAN_SYNC_RATE_LIMIT": ("120 per minute", _rate),
    # `flask --app pwa plans purge` deletes plans with no activity for this many
    # days (0: never), for clinics whose data policy requires it.
    "RETENTION_DAYS": (0, _count(0, 36500)),
    # Every practitioner must use a second factor (an authenticator app's codes).
    "REQUIRE_TOTP": (False, _flag),
    # The key that seals two-step secrets in the clinic file (pwa/core/sealed.py), when the
    # PWA_TOTP_KEY variable does not give it: empty means DATA_DIR/totp.key.
    "TOTP_KEY_FILE": ("", _text(300)),
    # Branding: an accent colour (#rrggbb) for light mode and, optionally, dark
    # mode, each refused unless it keeps WCAG AA contrast; a logo file (PNG,
    # WebP or SVG) in the data folder, shown in the header.
    "ACCENT_COLOR": ("", _accent("light")),
    "ACCENT_COLOR_DARK": ("", _accent("dark")),
    "LOGO_FILE": ("", _text(100)),
    # How long a client's invitation link works.
    "INVITATION_DAYS": (7, _count(1, 60)),
    # Default quiet hours for push reminders, in the plan's time zone.
    "QUIET_HOURS_START": ("21:00", _clock),
    "QUIET_HOURS_END": ("08:00", _clock),
}


def load(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill `app.config` from the configuration chain and validate it."""
    test_config = dict(test_config or {})
    folder = data_dir.resolve(
        test_config.pop("DATA_DIR", None)
        or os.environ.get("DATA_DIR")
        or os.environ.get("PWA_DATA_DIR"),
        ROOT,
    )
    values: dict[str, Any] = {name: default for name, (default, _) in SETTINGS.items()}
    values.update(_from_file(folder / CONFIG_FILE))
    values.update(_from_environment())
    # Deployment addresses rather than app settings: no PWA_ prefix.  With DATABASE_URL the
    # plans live in PostgreSQL (pwa/storage/postgres/); without it, in DATA_DIR's files.
    values["DATABASE_URL"] = _database_url(os.environ.get("DATABASE_URL", "").strip())
    values["REDIS_URL"] = _redis_url(os.environ.get("REDIS_URL", "").strip())
    if values["CONTENT_REVIEWER"] and values["CONTENT_REVIEWED_ON"] is None:
        raise ConfigError("CONTENT_REVIEWED_ON: required when CONTENT_REVIEWER is set")
    app.config.update(values)
    if "DATABASE_URL" in test_config:
        test_config["DATABASE_URL"] = _database_url(test_config["DATABASE_URL"])
    app.config.update(test_config)
    app.config["DATA_DIR"] = folder
    if app.config["LOGO_FILE"]:
        try:
            app.config["LOGO_PATH"] = branding.check_logo(folder, app.config["LOGO_FILE"])
        except ValueError as error:
            raise ConfigError(f"LOGO_FILE: {error}") from None
    else:
        app.config["LOGO_PATH"] = None
    # Several app hosts on one database share the keys it holds (made by whichever host
    # started first); one host keeps its own in the data folder.  Made here, so that
    # gunicorn's master makes them before any worker starts.
    if not app.config["SECRET_KEY"]:
        shared_key = _shared_secret(app.config, "secret_key", data_dir.new_secret_key)
        if shared_key is None and app.config["DATABASE_URL"]:
            # A database without its schema yet: only `flask db upgrade` runs on it (a host
            # refuses to start), and it signs nothing, so no key file is left behind.
            shared_key = data_dir.new_secret_key()
        app.config["SECRET_KEY"] = shared_key or data_dir.ensure_secret_key(folder)
    shared_pem = _shared_secret(app.config, "vapid_private_key", push.new_vapid_pem)
    app.config["VAPID_KEY_PATH"] = push.ensure_vapid_key(folder, shared_pem)


def _from_file(path: os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    values = {}
    for key, value in raw.items():
        name = key.upper()
        if name not in SETTINGS:
            known = ", ".join(sorted(n.lower() for n in SETTINGS))
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
        values[name] = _parse(name, value, source=str(path))
    return values


def _from_environment() -> dict[str, Any]:
    values = {}
    for name in SETTINGS:
        if f"PWA_{name}" in os.environ:
            values[name] = _parse(name, os.environ[f"PWA_{name}"], source=f"PWA_{name}")
    return values


def _parse(name: str, value: Any, source: str) -> Any:
    parser = SETTINGS[name][1]
    try:
        return parser(value)
    except ValueError as error:
        where = source if source.startswith("PWA_") else f"{source}: {name.lower()}"
        raise ConfigError(f"{where}: {error}") from None


def _shared_secret(config: dict[str, Any], name: str, make: Callable[[], str]) -> str | None:
    """storage.shared_secret, with a database that cannot be reached said in one line."""
    try:
        return storage.shared_secret(config, name, make)
    except Exception as error:
        said = storage.database_trouble(error)
        if said is None:
            raise
        raise ConfigError(f"DATABASE_URL: cannot use the database: {said}") from None
