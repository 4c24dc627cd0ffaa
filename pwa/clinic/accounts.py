"""Practitioner accounts: e-mail and password rules, password hashing, console-session clocks.

Passwords are hashed with Argon2id (argon2-cffi's defaults, which follow
RFC 9106's recommended parameters); a hash made with weaker parameters is
re-made at the next good login.  Console sessions are server-side records
(see storage/clinic_file.py) identified by a random id the browser holds in its signed
session cookie; only the id's SHA-256 is stored, so a stolen data folder
does not hand out live sessions.  No Flask here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# zxcvbn scores 0 to 4; 3 is its "safely unguessable" (moderate protection from an
# offline attack on a slow hash, which Argon2id is).
MIN_STRENGTH = 3
# zxcvbn's time grows with length; what it says of the first 100 characters stands.
STRENGTH_CHARACTERS = 100
# What new_totp_secret makes: base32, 32 characters.
TOTP_SECRET = re.compile(r"[A-Z2-7]{16,64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong address takes as
# long as a wrong password and response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An e-mail or password that cannot be used; the message says why."""


@dataclass(frozen=True)
class Timeouts:
    idle_ms: int
    absolute_ms: int


def check_email(value: str) -> str:
    email = (value or "").strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise AccountError("email: must be an e-mail address such as name@clinic.co.uk")
    return email


def check_password(value: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password: must be at most {MAX_PASSWORD_LENGTH} characters")
    return value


def check_new_password(value: str, email: str) -> str:
    """A password a practitioner may choose now: within the lengths, not the e-mail, and
    hard to guess by zxcvbn's estimate (common passwords, words, names, keyboard patterns
    and repeats; it runs offline), which also weighs the e-mail's parts."""
    check_password(value)
    if value.strip().lower() == email.lower():
        raise AccountError("password: must not be your e-mail address")
    local, _, domain = email.partition("@")
    estimate = zxcvbn(value[:STRENGTH_CHARACTERS], user_inputs=[email, local, *domain.split(".")])
    if estimate["score"] < MIN_STRENGTH:
        why = estimate["feedback"]["warning"] or "It would be found quickly by guessing."
        raise AccountError(f"password: too easy to guess. {why} A few unrelated words work well.")
    return value


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; pass None for an unknown account (same time taken)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_secret() -> str:
    """A session id, invitation code or CSRF token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_totp_secret() -> str:
    """A TOTP key (160 bits, base32), as authenticator apps expect."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def verify_totp(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step the code belongs to if it is right and unused; else None.

    One step either side is accepted (phone clocks drift); a step already used
    is refused, so an overheard code cannot be replayed.
    """
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6) or not TOTP_SECRET.fullmatch(secret or ""):
        # Not a secret this app made: one the key could not open (storage._opened).
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(datetime.now(UTC))
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return None if last_step is not None and step <= last_step else step
    return None


def session_is_live(session: dict, now_ms: int, timeouts: Timeouts) -> bool:
    """A console session ends after `idle_ms` without a request or `absolute_ms` in all."""
    return (
        now_ms - session["last_seen_ms"] < timeouts.idle_ms
        and now_ms - session["created_ms"] < timeouts.absolute_ms
    )
