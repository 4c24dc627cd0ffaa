"""The data folder: where it is, and the secret key that lives in it.

The data folder holds everything a deployment owns and the checkout does not:
the secret key, the clinic's `config.toml`, clinic content overrides and
(later) the per-plan stores.  Gunicorn's master process calls `prepare` before
it forks any worker, so the secret is created once, never by each worker;
`ensure_secret_key` is also safe if two processes race (it links a finished
file into place, which only one of them can win).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"
# 32 random bytes, hex-encoded: the size Flask's docs suggest for SECRET_KEY.
SECRET_KEY_BYTES = 32


def resolve(data_dir: str | os.PathLike[str] | None, root: Path) -> Path:
    """Absolute data folder: default `instance/`; relative paths start at the checkout."""
    path = Path(data_dir) if data_dir else Path("instance")
    return path if path.is_absolute() else (root / path).resolve()


def ensure_secret_key(data_dir: Path) -> str:
    """Return the deployment's secret key, creating it (and the folder, 0700) on first use."""
    # Only the server's user may list the folder: file names are plan ids.
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = data_dir / SECRET_KEY_FILE
    if not key_path.exists():
        _create_secret_key(key_path)
    key = key_path.read_text(encoding="ascii").strip()
    if len(key) < 2 * SECRET_KEY_BYTES:
        raise ValueError(f"{key_path} is shorter than {2 * SECRET_KEY_BYTES} characters")
    return key


def new_secret_key() -> str:
    return secrets.token_hex(SECRET_KEY_BYTES)


def _create_secret_key(key_path: Path) -> None:
    create_once(key_path, (new_secret_key() + "\n").encode("ascii"))


def replace_private_file(path: Path, content: bytes) -> None:
    """Make `path` a private (0600) file holding `content`, replacing it whole if it differs."""
    if path.exists() and path.read_bytes() == content:
        return
    os.replace(_private_temp_file(path, content), path)


def create_once(path: Path, content: bytes) -> None:
    """Write a private (0600) file unless it exists; safe when processes race.

    The content goes to a temp file first, then link() puts it in place; link
    refuses to replace an existing file, so the first finished file wins and
    the others are thrown away.
    """
    temp = _private_temp_file(path, content)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()


def _private_temp_file(path: Path, content: bytes) -> Path:
    """`content` written and flushed to a new 0600 file beside `path`; its path."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    return temp
