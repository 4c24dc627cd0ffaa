"""Rate-limit counters in one SQLite file in the data folder, shared by every worker.

A storage backend for the `limits` library (what pwa/core/rate_limits.py counts with), under
the URI scheme `sqlite:///<absolute path>`.  Without it the embedded deployment
would count in each worker's memory: three workers would allow three times the
limit, and a restart would forget every count.  Redis does the same job for
several hosts (REDIS_URL); one host needs nothing installed.

Counters are fixed windows: `incr` starts a window of `expiry` seconds at the
first hit and counts until it ends.  Each hit is one short write transaction;
SQLite's write-ahead log lets readers go on meanwhile, and a count lost in a power
cut only forgets some recent requests, so commits are not synced to disk.
No Flask here.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from limits.storage import Storage

SCHEME = "sqlite"
# About one hit in this many also sweeps out windows that ended.
SWEEP_ONE_IN = 500
SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID
"""


def uri_for(path: Path) -> str:
    """The storage URI of a counters file (the folder must exist)."""
    return f"{SCHEME}://{path.resolve()}"


def prepare(uri: str) -> None:
    """Create the file (owner-only) and its table, once, before the workers start."""
    path = _path_of(uri)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    with closing(_connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(SCHEMA)


class FileCounters(Storage):
    """limits' storage interface (fixed windows) over SQLite; safe across processes and threads."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._path = _path_of(uri)
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        with _write(connection):
            row = connection.execute(
                "SELECT value, expires FROM counters WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[1] <= now:
                value, expires = amount, now + expiry
            else:
                value, expires = row[0] + amount, row[1]
            connection.execute(
                "INSERT OR REPLACE INTO counters (key, value, expires) VALUES (?, ?, ?)",
                (key, value, expires),
            )
            if random.randrange(SWEEP_ONE_IN) == 0:
                connection.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return value

    def get(self, key: str) -> int:
        row = self._live(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        connection = self._connection()
        with _write(connection):
            return connection.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        connection = self._connection()
        with _write(connection):
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))

    def _live(self, key: str) -> tuple[int, float] | None:
        query = "SELECT value, expires FROM counters WHERE key = ? AND expires > ?"
        return self._connection().execute(query, (key, time.time())).fetchone()

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread, and a new one in a forked child: SQLite connections
        # must not cross a fork.
        pid, connection = getattr(self._local, "held", (None, None))
        if pid != os.getpid():
            connection = _connect(self._path)
            self._local.held = (os.getpid(), connection)
        return connection


class _write:
    """BEGIN IMMEDIATE ... COMMIT: the read and the write of a hit happen as one."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, error, trace) -> None:
        self._connection.execute("ROLLBACK" if kind else "COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are the ones _write opens, nothing implicit.
    connection = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _path_of(uri: str) -> Path:
    path = uri.removeprefix(f"{SCHEME}://")
    if not path.startswith("/"):
        raise ValueError(f"{SCHEME}:// needs an absolute path, as in sqlite:///srv/data/counters")
    return Path(path)
