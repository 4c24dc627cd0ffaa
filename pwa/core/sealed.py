"""Secrets the clinic file keeps encrypted: practitioners' two-step (TOTP) secrets.

A TOTP secret must be read back to check a code, so it cannot be hashed like a
password; it is sealed with Fernet (AES-128-CBC with an HMAC, from `cryptography`)
under a key kept apart from the clinic file.  The key comes from PWA_TOTP_KEY when
the service manager provides it (the key then never touches the disk), else from
the file named by `totp_key_file`, by default `DATA_DIR/totp.key`, which gunicorn's
master creates once (0600) before any worker starts.  A copy of the clinic file, or
an export of it, then holds no secret that can be used; a backup of the whole data
folder does unless the key lives elsewhere (README, "Two-step sign-in").

Sealed values carry a prefix, so a secret stored before sealing existed is still read
(and sealed when the app next starts: the clinic store's `seal_plain_secrets`).  No Flask here.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken

from . import data_dir

PREFIX = "fernet:"
KEY_FILE = "totp.key"


class SealError(ValueError):
    """A sealed value that this key cannot open (the key was replaced or lost)."""


class SecretBox:
    """Seals and opens short secrets with one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The secret; a value stored before sealing existed is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode("ascii")).decode()
        except InvalidToken:
            raise SealError(
                "a two-step secret cannot be opened with this key (was the key replaced?); "
                "`flask --app pwa practitioner reset-two-step EMAIL` lets that account set "
                "it up again"
            ) from None

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)


def load_key(from_environment: str, key_file: Path) -> bytes:
    """The key: PWA_TOTP_KEY's value if given, else the key file's (created if missing)."""
    if from_environment:
        key = from_environment.strip().encode("ascii")
        where = "PWA_TOTP_KEY"
    else:
        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not key_file.exists():
            data_dir.create_once(key_file, Fernet.generate_key() + b"\n")
        key = key_file.read_bytes().strip()
        where = str(key_file)
    try:
        Fernet(key)
    except ValueError:
        raise ValueError(
            f"{where}: not a key (make one with: python3 -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())')"
        ) from None
    return key


def default_key_file(folder: Path) -> Path:
    return folder / KEY_FILE


def key_from_environment() -> str:
    return os.environ.get("PWA_TOTP_KEY", "")
