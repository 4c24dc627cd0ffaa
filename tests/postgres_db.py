"""A PostgreSQL database made for this test run, on the machine's server (127.0.0.1:5432).

One database per run (its name holds the process id), brought to the newest schema by
the app's own migrations, emptied between tests and dropped at the end.  Without a
reachable server the PostgreSQL tests are skipped, loudly, except under CI, where they
fail: CI's machine has PostgreSQL, and a silent skip would hide a broken backend.
"""

from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from psycopg import sql

from pwa.storage import postgres
from pwa.storage.postgres.schema import metadata

SERVER = os.environ.get("TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


class TestDatabase:
    """A database of its own on the test server; `url` is what DATABASE_URL would be."""

    def __init__(self) -> None:
        self.name = f"aftercare_test_{os.getpid()}_{secrets.token_hex(3)}"
        base = SERVER.rsplit("/", 1)[0]
        self.url = f"postgresql+psycopg://{base.split('://', 1)[1]}/{self.name}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        postgres.upgrade(self.url)
        self.database = postgres.Database.at(self.url)

    def empty(self) -> None:
        """Every table emptied, as for a new test."""
        names = sql.SQL(", ").join(sql.Identifier(table.name) for table in metadata.sorted_tables)
        with psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))

    def drop(self) -> None:
        self.database.dispose()
        self._admin(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
        )

    @staticmethod
    def _admin(statement) -> None:
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)


def reachable() -> bool:
    try:
        with psycopg.connect(SERVER, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def made_or_skipped() -> TestDatabase:
    """A new test database, or a loud skip (a failure under CI) when there is no server."""
    if not reachable():
        message = f"no PostgreSQL at {SERVER}: the PostgreSQL backend is not tested"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return TestDatabase()
