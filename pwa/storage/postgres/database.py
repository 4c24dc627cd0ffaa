"""The connection to PostgreSQL: an engine per process, transactions, the schema's version.

The engine (and its pool) is made on first use in each process, never inherited:
gunicorn's master builds the app before it forks its workers, and a pooled connection
shared by two processes would interleave their statements.  Migrations are Alembic's
(`migrations/`), run by `flask --app pwa db upgrade` as a deployment step; an app host
only checks that the schema is the one its code expects, and refuses to start if not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import exc
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.pool import NullPool

from ..contract import SchemaOutOfDate
from ..contract import StoreBusy
from .schema import deployment_secrets

MIGRATIONS = Path(__file__).with_name("migrations")
# How long a write waits for a plan's row lock before the request answers 503, as the
# file backend's lock does (store.LOCK_TIMEOUT_S).
LOCK_TIMEOUT = "10s"
_LOCK_TIMEOUT = text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


class Database:
    """One PostgreSQL database, reached through an engine made in the process using it.

    `Database.at(url)` hands out one per address, so every app built in a process (tests
    build many) shares one pool rather than each opening its own.
    """

    _known: dict[tuple[str, int], Database] = {}
    _known_guard = threading.Lock()

    @classmethod
    def at(cls, url: str, pool_size: int = 4) -> Database:
        with cls._known_guard:
            return cls._known.setdefault((url, pool_size), cls(url, pool_size))

    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool_size = pool_size
        self._engine: Engine | None = None
        self._pid = 0
        self._guard = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._guard:
            if self._engine is None or self._pid != os.getpid():
                # A parent's engine is left alone (not disposed): its connections are the
                # parent's, and closing them here would close them under it.
                # No pre-ping (a round trip per checkout, two per sync): a connection found
                # dead by its first statement is replaced and the operation tried again.
                self._engine = create_engine(
                    self.url, pool_size=self.pool_size, max_overflow=self.pool_size
                )
                self._pid = os.getpid()
            return self._engine

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A READ COMMITTED transaction whose row locks give up after LOCK_TIMEOUT."""
        try:
            with self._transaction() as connection:
                yield connection
        except exc.OperationalError as error:
            if getattr(error.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise StoreBusy(
                    f"a plan's row lock was held for more than {LOCK_TIMEOUT}"
                ) from None
            raise

    def read_one(self, sql: str, params: dict) -> list[tuple]:
        """The rows of one read-only statement (psycopg's %(name)s parameters): one
        snapshot, no transaction round trips, and none of SQLAlchemy's per-statement work,
        which was most of a poll's cost (bench/postgres.py)."""
        import psycopg

        for attempt in (1, 2):
            connection = self.engine.raw_connection()
            try:
                driver = connection.driver_connection
                driver.autocommit = True
                try:
                    return driver.execute(sql, params).fetchall()
                finally:
                    if not driver.closed:
                        driver.autocommit = False
            except psycopg.OperationalError:
                # A pooled connection PostgreSQL had closed (a restart, a cut): it is
                # thrown away and the read, which changed nothing, tried again once.
                connection.invalidate()
                if attempt == 2:
                    raise
            finally:
                connection.close()
        raise AssertionError("unreachable")

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction on one snapshot: several statements see one moment."""
        with self._transaction(isolation_level="REPEATABLE READ", postgresql_readonly=True) as c:
            yield c

    @contextmanager
    def _transaction(self, **options) -> Iterator[Connection]:
        """A transaction on a pooled connection, begun with SET LOCAL lock_timeout: when
        that first statement finds the connection dead (PostgreSQL restarted, or cut it),
        nothing was done yet, so another connection is taken and the transaction begun
        again, once."""
        for attempt in (1, 2):
            connection = self.engine.connect().execution_options(**options)
            transaction = connection.begin()
            try:
                connection.execute(_LOCK_TIMEOUT)
                break
            except exc.DBAPIError as error:
                connection.close()
                if not error.connection_invalidated or attempt == 2:
                    raise
        try:
            with transaction:
                yield connection
        finally:
            connection.close()

    def has_schema(self) -> bool:
        """Whether the migrations have run here at all."""
        with self.engine.connect() as connection:
            found = connection.execute(text("SELECT to_regclass('alembic_version')"))
            return found.scalar() is not None

    def shared_secret(self, name: str, make: Callable[[], str]) -> str | None:
        """The deployment's secret `name`, made by `make()` if no host made it yet; None
        before the schema exists (the host's start-up check then refuses to start)."""
        if not self.has_schema():
            return None
        with self.engine.begin() as connection:
            # Whichever host is first stores its value; every host then reads that one.
            connection.execute(
                insert(deployment_secrets).values(name=name, value=make()).on_conflict_do_nothing()
            )
            return connection.execute(
                select(deployment_secrets.c.value).where(deployment_secrets.c.name == name)
            ).scalar_one()

    @classmethod
    def close_all(cls) -> None:
        """Close every connection this process opened (gunicorn's master, before forking)."""
        with cls._known_guard:
            for database in cls._known.values():
                database.dispose()

    def dispose(self) -> None:
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # A percent sign in a password would read as interpolation to configparser.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision (a deployment step, run once); the revisions
    it was at before and is at now."""
    before = _current_revision(url)
    command.upgrade(_alembic_config(url), "head")
    return before, _current_revision(url)


def check_schema(url: str) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest revision."""
    head = ScriptDirectory.from_config(_alembic_config(url)).get_current_head()
    current = _current_revision(url)
    if current != head:
        where = f"at revision {current}" if current else "empty (no schema yet)"
        raise SchemaOutOfDate(
            f"the database is {where}, this code needs revision {head}: run `make db-upgrade` "
            "(flask --app pwa db upgrade) once, then start the app hosts"
        )


def _current_revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


# Any fixed number serves; it names the reminder scheduler's lock among others' locks.
SCHEDULER_LOCK = 7_357_202


class SchedulerLease:
    """Which host's reminder scheduler sends: the one holding a session advisory lock.

    The lock lives as long as this process's own connection (not a pooled one, and not
    through a transaction-pooling proxy, where session locks do not hold): when the host
    holding it dies, its connection ends, and the next host to ask takes over.
    """

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._connection = None
        self._holding = False

    def held(self) -> bool:
        """Whether this process sends now; asks for the lock if it does not hold it."""
        import psycopg

        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                self._holding = False
            if self._holding:
                self._connection.execute("SELECT 1")  # still ours while the session lives
            else:
                row = self._connection.execute(
                    "SELECT pg_try_advisory_lock(%s)", (SCHEDULER_LOCK,)
                ).fetchone()
                self._holding = bool(row[0])
        except psycopg.OperationalError:
            self._connection, self._holding = None, False
        return self._holding
