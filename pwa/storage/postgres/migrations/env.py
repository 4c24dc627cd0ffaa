"""Alembic's entry point: run the migrations on the connection to DATABASE_URL.

Two hosts running `db upgrade` at once take turns: each takes the same transaction-level
advisory lock before it looks at the schema's version.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy import pool
from sqlalchemy import text

from pwa.storage.postgres.schema import metadata

# Any fixed number serves; it names this app's migration lock among others' locks.
MIGRATION_LOCK = 7_357_201

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
engine.dispose()
