"""Secrets at rest: how an account's TOTP secrets, and the code of an invitation still
waiting, are sealed and opened.

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


def waiting_code(sealer: SecretBox, invitation: dict | None, now_ms: int) -> dict | None:
    """An invitation as the console may show it again: {"code", "expires_ms"} while it is
    unused and unexpired and its code was kept; otherwise None.  A code this key cannot open
    is None too (the console then offers a new invitation), and the log says why."""
    if (
        invitation is None
        or invitation.get("used_ms") is not None
        or now_ms >= invitation["expires_ms"]
        or not invitation.get("code_sealed")
    ):
        return None
    try:
        code = sealer.open(invitation["code_sealed"])
    except SealError:
        logging.getLogger(__name__).warning(
            "a waiting invitation's code cannot be opened with this key (was it replaced?): "
            "the console offers a new invitation instead"
        )
        return None
    return {"code": code, "expires_ms": invitation["expires_ms"]}
