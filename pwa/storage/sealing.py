"""Two-step secrets at rest: how an account's TOTP secrets are sealed and opened.

Both backends keep them sealed (core/sealed.py) with a key that is not stored beside them,
and hand them to callers opened; these functions are what they share.
"""

from __future__ import annotations

import logging

from ..core.sealed import SealError
from ..core.sealed import SecretBox


def has_plain_secret(account: dict) -> bool:
    secret, pending = account.get("totp_secret"), account.get("totp_pending")
    return bool(
        (secret and not SecretBox.is_sealed(secret))
        or (pending and not SecretBox.is_sealed(pending["secret"]))
    )


def sealed_fields(sealer: SecretBox, account: dict) -> dict:
    """The fields that would seal the account's plain two-step secrets."""
    fields = {}
    secret, pending = account.get("totp_secret"), account.get("totp_pending")
    if secret and not SecretBox.is_sealed(secret):
        fields["totp_secret"] = sealer.seal(secret)
    if pending and not SecretBox.is_sealed(pending["secret"]):
        fields["totp_pending"] = {**pending, "secret": sealer.seal(pending["secret"])}
    return fields


def opened(sealer: SecretBox, account: dict) -> dict:
    """The account as callers use it: its two-step secrets opened.  One that this key
    cannot open stays sealed, so no code matches it (accounts.verify_totp): the account
    cannot sign in until `practitioner reset-two-step`, and the log says so."""
    opened = dict(account)
    if opened.get("totp_secret"):
        opened["totp_secret"] = _open(sealer, opened["totp_secret"])
    if opened.get("totp_pending"):
        pending = opened["totp_pending"]
        opened["totp_pending"] = {**pending, "secret": _open(sealer, pending["secret"])}
    return opened


def _open(sealer: SecretBox, stored: str) -> str:
    try:
        return sealer.open(stored)
    except SealError as error:
        logging.getLogger(__name__).error("%s", error)
        return stored
