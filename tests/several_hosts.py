"""Several `make run` hosts on one PostgreSQL and one Redis, as a clinic group runs them.

Each host has its own data folder and port on 127.0.0.1; what they share is DATABASE_URL
and REDIS_URL (one of Redis's numbered databases, emptied first).  Used by
tests/test_several_hosts.py and tests/browser/test_hosts_in_browser.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet
from support import RunningServer
from support import generous_limits_environment


@contextmanager
def running_hosts(
    folder: Path, database_url: str, redis_database: int, names: str = "abc", **env: str
) -> Iterator[list[RunningServer]]:
    """Start one host per letter of `names`; stop them all after, and check no log holds a
    traceback.  Without Redis the tests are skipped, except in CI, where that fails."""
    redis_url = f"redis://127.0.0.1:6379/{redis_database}"
    try:
        redis.Redis.from_url(redis_url).flushdb()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379: the several-hosts tests need one")
    shared = {
        **generous_limits_environment(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WORKERS": "2",
        # Every host seals two-step secrets with the one key (README, "PostgreSQL").
        "PWA_TOTP_KEY": Fernet.generate_key().decode(),
        **env,
    }
    started: list[RunningServer] = []
    try:
        for name in names:
            started.append(RunningServer(folder / name, folder / f"{name}.log", **shared).start())
        yield started
    finally:
        for host in started:
            host.stop()
    for host in started:
        assert "Traceback" not in host.log(), host.log()
