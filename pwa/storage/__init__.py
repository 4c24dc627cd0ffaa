"""Everything the app stores, and the only package that knows how it is kept.

The app holds two stores, made here from its configuration: a plan store and a
clinic store (`contract.py` says what each can do, as typed interfaces).  Views,
commands and the reminder sender call their methods; only the modules of this
package touch TinyDB or a store's files:

- `contract.py`: the PlanStore and ClinicStore interfaces, and the Page of events.
- `file_backend.py`: both stores kept in files, the embedded default.
- `store.py`: a folder of JSON files (or memory, in tests), one lock per file,
  a fresh TinyDB per block, every change one atomic file replace.
- `table_file.py`: a file's format (a line per table, read head first).
- `plan_file.py`: a plan's file (the plan, devices, device links, events).
- `plan_events.py`: how the events sit in a plan's file (a table per month).
- `reminder_state.py`: calendar feed, push subscriptions, the reminders sent.
- `clinic_file.py`: the clinic's file (practitioners, console sessions, clients,
  invitations).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .contract import AccountExists
from .contract import ClinicStore
from .contract import DeviceExists
from .contract import Page
from .contract import PlanExists
from .contract import PlanNotFound
from .contract import PlanSnapshot
from .contract import PlanStore
from .contract import SchemaOutOfDate
from .contract import StoreBusy
from .contract import TooMany
from .contract import UnknownDevice
from .file_backend import FileClinicStore
from .file_backend import FilePlanStore
from .plan_file import EXPORTED_AS
from .rules import MAX_DEVICES
from .rules import MAX_DEVICES_EVER
from .rules import MAX_EVENTS
from .rules import MAX_WAITING_LINKS
from .rules import PAGE_SIZE
from .rules import check_plan_id

__all__ = [
    "AccountExists",
    "ClinicStore",
    "DeviceExists",
    "EXPORTED_AS",
    "FileClinicStore",
    "FilePlanStore",
    "MAX_DEVICES",
    "MAX_DEVICES_EVER",
    "MAX_EVENTS",
    "MAX_WAITING_LINKS",
    "PAGE_SIZE",
    "Page",
    "PlanExists",
    "PlanNotFound",
    "PlanSnapshot",
    "PlanStore",
    "SchemaOutOfDate",
    "StoreBusy",
    "TooMany",
    "UnknownDevice",
    "check_plan_id",
    "check_schema",
    "import_files",
    "clinic_store",
    "close_connections",
    "database_trouble",
    "plan_store",
    "scheduler_lease",
    "shared_secret",
    "upgrade_schema",
]


def plan_store(config: dict[str, Any]) -> PlanStore:
    """The plan store the configuration asks for: PostgreSQL at DATABASE_URL, else files
    in DATA_DIR/plans."""
    if config.get("DATABASE_URL"):
        # Imported only here: the embedded default never loads a database library.
        from . import postgres

        database = postgres.Database.at(config["DATABASE_URL"], _pool_size())
        return postgres.PostgresPlanStore(database)
    return FilePlanStore(Path(config["DATA_DIR"]) / "plans")


def check_schema(config: dict[str, Any]) -> None:
    """Raise SchemaOutOfDate when a database's schema is not the one this code needs
    (an app host refuses to start on it); nothing to check for the files."""
    if config.get("DATABASE_URL"):
        from . import postgres

        postgres.check_schema(config["DATABASE_URL"])


def shared_secret(config: dict[str, Any], name: str, make: Callable[[], str]) -> str | None:
    """A secret every app host must share, kept in the database (made once by `make`);
    None without DATABASE_URL (one host keeps its secrets in DATA_DIR's files)."""
    if not config.get("DATABASE_URL"):
        return None
    from . import postgres

    return postgres.Database.at(config["DATABASE_URL"], _pool_size()).shared_secret(name, make)


def _pool_size() -> int:
    # A connection for each of a worker's threads (gunicorn.conf.py: THREADS).
    return int(os.environ.get("THREADS", "4"))


class _OnlyHost:
    """The embedded store has one host, whose scheduler always sends."""

    def held(self) -> bool:
        return True


def scheduler_lease(config: dict[str, Any]) -> Any:
    """What says whether this process's reminder scheduler sends (`held()`): on a
    database, only the one holding its lock; on the files, always."""
    if not config.get("DATABASE_URL"):
        return _OnlyHost()
    from .postgres.database import SchedulerLease

    return SchedulerLease(config["DATABASE_URL"])


def database_trouble(error: BaseException) -> str | None:
    """The first line of what the database said, if `error` is the database's own (it
    could not be reached, refused a login, has no such database); None for any other."""
    # Recognised by module: the database libraries are imported only with DATABASE_URL.
    if type(error).__module__.split(".")[0] not in ("sqlalchemy", "psycopg"):
        return None
    said = str(getattr(error, "orig", None) or error).strip().splitlines()
    return said[0] if said else repr(error)


def close_connections() -> None:
    """Close the database connections this process holds, if any: gunicorn's master calls
    it once the app is checked, so no worker inherits a connection it did not open."""
    if "pwa.storage.postgres" in sys.modules:
        sys.modules["pwa.storage.postgres"].Database.close_all()


def import_files(config: dict[str, Any], source: Path, sealer: Any, verify: bool) -> Any:
    """Move the embedded deployment kept in `source` into the database at DATABASE_URL;
    the import's report (postgres.import_files.Report), with `mismatches` when verified."""
    from . import postgres
    from .postgres import import_files as importing

    database = postgres.Database.at(config["DATABASE_URL"], _pool_size())
    report = importing.import_files(Path(source), database)
    if verify:
        report.mismatches = importing.verify(Path(source), database, sealer)
    return report


def upgrade_schema(config: dict[str, Any]) -> tuple[str | None, str | None]:
    """Bring the database's schema to this code's version (a deployment step); the
    revisions it was at before and is at now."""
    from . import postgres

    return postgres.upgrade(config["DATABASE_URL"])


def clinic_store(config: dict[str, Any], sealer: Any) -> ClinicStore:
    """The clinic store the configuration asks for: PostgreSQL at DATABASE_URL, else a file
    in DATA_DIR/clinic.  `sealer` (core.sealed.SecretBox) seals two-step secrets at rest."""
    if config.get("DATABASE_URL"):
        from . import postgres

        database = postgres.Database.at(config["DATABASE_URL"], _pool_size())
        return postgres.PostgresClinicStore(database, sealer)
    return FileClinicStore(Path(config["DATA_DIR"]) / "clinic", sealer=sealer)
