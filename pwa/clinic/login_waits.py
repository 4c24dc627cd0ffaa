"""The growing wait after wrong passwords or codes, per e-mail, kept in the clinic store.

Wrong logins slow the next try instead of locking the account: a lock that a stranger
can trigger also keeps the owner out.  Failures are counted per (e-mail, address) and
per e-mail over all addresses, whether or not the account exists, so the answer never
says which e-mails are accounts.  The counts live in the clinic store (the clinic file,
or PostgreSQL's `login_failures`), so every worker and every host sees the same wait;
how often an address may try at all is rate_limits.py's.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app

from ..core.rate_limits import client_address
from ..storage import ClinicStore

# Failures for one e-mail from all addresses that cost nothing, before the wait
# grows for everyone: bounds guessing spread over many addresses.
FREE_FAILURES_PER_EMAIL = 20


class LoginWaits:
    """How long a login for one e-mail must wait, from its recent wrong passwords or codes.

    The first LOGIN_MAX_FAILURES failures from an address cost nothing; from the last of
    them on, each sets a wait before the next try from it (2 s, 4 s, 8 s …) up to
    LOGIN_LOCK_MINUTES.  The same holds per e-mail over all addresses after
    FREE_FAILURES_PER_EMAIL.  The owner is never locked out: the wait always ends.
    """

    def __init__(self, clinic: ClinicStore) -> None:
        self._clinic = clinic

    def wait_s(self, email: str) -> int:
        """Seconds until `email` may be tried again from this address (0: now)."""
        now = _now_ms()
        ends = self._clinic.login_wait_ends_ms(self._keys(email), now)
        return max(0, math.ceil((ends - now) / 1000))

    def failed(self, email: str) -> None:
        config, now = current_app.config, _now_ms()
        longest_ms = config["LOGIN_LOCK_MINUTES"] * 60 * 1000
        free = (config["LOGIN_MAX_FAILURES"], FREE_FAILURES_PER_EMAIL)
        for key, allowed in zip(self._keys(email), free, strict=True):
            self._clinic.count_login_failure(key, allowed, longest_ms, now)

    def succeeded(self, email: str) -> None:
        self._clinic.forget_login_failures(self._keys(email))

    @staticmethod
    def _keys(email: str) -> tuple[str, str]:
        # Hashed: the store never holds an e-mail address beside an address it came from.
        account = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:32]
        return f"{account}/{client_address()}", account


def login_waits() -> LoginWaits:
    return LoginWaits(current_app.extensions["clinic"])


def wait_message(seconds: int) -> str:
    """The same words for every e-mail, known or not."""
    if seconds <= 90:
        amount = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        minutes = math.ceil(seconds / 60)
        amount = f"{minutes} minutes"
    return f"Too many wrong tries for this e-mail. Wait {amount}, then try again."


def _now_ms() -> int:
    return int(time.time() * 1000)
