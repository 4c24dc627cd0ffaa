"""The PostgreSQL backend, chosen by DATABASE_URL: for a clinic group's several app hosts.

Imported only when DATABASE_URL is set, so the embedded default never loads a database
library.  `database.py` holds the connection and the schema's version (Alembic,
`migrations/`), `schema.py` the tables, and the plan store is made of its parts:
`plan_store.py` (plans and events), `device_tables.py` (devices and device links) and
`reminder_tables.py` (calendar feed, push, reminders sent); `common.py` is what they share.
`clinic_store.py` is the clinic store.
"""

from __future__ import annotations

from .clinic_store import PostgresClinicStore
from .database import Database
from .database import SchemaOutOfDate
from .database import check_schema
from .database import upgrade
from .plan_store import PostgresPlanStore

__all__ = [
    "Database",
    "PostgresClinicStore",
    "PostgresPlanStore",
    "SchemaOutOfDate",
    "check_schema",
    "upgrade",
]
