"""The plan store: one small JSON file per plan, opened through TinyDB, safe across processes.

This is the only module that constructs `TinyDB`; the storage package's file modules
(plan_file, reminder_state, clinic_file) are the only ones that query it.  `Store.locked`
gives one caller at a time a fresh `TinyDB` on one plan and turns everything
written inside the block into a single atomic file replace at the end (or
nothing, if the block raises).  `Store.reading` gives a fresh read-only
`TinyDB` on the last committed state without waiting for the lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path
from typing import Any

from filelock import FileLock
from filelock import Timeout
from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.storages import Storage

from .contract import PlanNotFound
from .contract import StoreBusy
from .rules import PLAN_ID
from .rules import check_plan_id
from .table_file import TEMP_PREFIX
from .table_file import AtomicJSONStorage
from .table_file import Data
from .table_file import Tables
from .table_file import _as_bytes
from .table_file import _fsync_folder

# TinyDB's docs ("Why Not Use TinyDB?") warn against "access from multiple
# processes or threads (e.g. when using Flask!)", and gunicorn runs several
# worker processes.  So no TinyDB outlives a request: each block gets a fresh
# one (its query cache and next-id counter are per instance and go stale when
# another worker writes), writers hold a file lock across the whole
# read-modify-write, and files are only ever replaced whole.

# Waiting longer than this for one plan's lock means something is stuck;
# fail the request rather than pile up workers behind it.
LOCK_TIMEOUT_S = 10.0
# filelock retries a taken lock by polling; its 50 ms default would add up to
# 50 ms to a request that waits behind a write lasting a few milliseconds.
LOCK_POLL_S = 0.002


class _MemoryPlan(MemoryStorage):
    """One plan held in memory as the file's bytes, so each reader gets its own copy."""

    def read(self) -> Tables | None:
        return None if self.memory is None else Tables(self.memory)

    def write(self, data: Data) -> None:
        # Serialising also refuses what the JSON file would refuse.
        self.memory = _as_bytes(data)


class _Section(Storage):
    """Reads the plan once and keeps a block's writes in memory until `commit`."""

    # Unlike TinyDB's CachingMiddleware this never holds a write past the
    # block: the store commits before the lock is released and before the
    # caller can acknowledge anything.

    def __init__(self, backing: Storage, writable: bool) -> None:
        self._backing = backing
        self._writable = writable
        self._data: Data | None = None
        self._loaded = False
        self._dirty = False

    def read(self) -> Data | None:
        if not self._loaded:
            self._data = self._backing.read()
            self._loaded = True
        return self._data

    def write(self, data: Data) -> None:
        if not self._writable:
            raise RuntimeError("this TinyDB is read-only; write inside Store.locked()")
        self._data, self._loaded, self._dirty = data, True, True

    def commit(self) -> None:
        if self._dirty:
            self._backing.write(self._data)
            self._dirty = False


class Store:
    """Where plans live: a folder with one file per plan, or (tests only) memory.

    A memory store is safe between threads of one process only; the folder
    store is safe between processes on one host with a local file system
    (the lock is flock(2), which NFS does not reliably provide).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        memory: bool = False,
        lock_timeout_s: float = LOCK_TIMEOUT_S,
        sealer: Any = None,
    ) -> None:
        if memory == (folder is not None):
            raise ValueError("give either a folder or memory=True")
        self.lock_timeout_s = lock_timeout_s
        # What clinic_file seals fields of this store with (sealed.SecretBox), if any.
        self.sealer = sealer
        self.folder = None if memory else Path(folder)
        self._memory: dict[str, _MemoryPlan] | None = {} if memory else None
        self._thread_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        if self.folder is not None:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    @contextmanager
    def locked(self, plan_id: str, *, create: bool = False) -> Iterator[TinyDB]:
        """Yield a fresh TinyDB holding the plan's lock; its writes are committed at the end.

        Raises PlanNotFound unless the plan exists or `create` is true.
        """
        plan_id = check_plan_id(plan_id)
        # Check before taking the lock too, so probing unknown ids cannot
        # litter the folder with lock files.
        if not create and not self.exists(plan_id):
            raise PlanNotFound(plan_id)
        with self._lock(plan_id):
            if not create and not self.exists(plan_id):
                raise PlanNotFound(plan_id)
            db = TinyDB(storage=_Section, backing=self._backing(plan_id, True), writable=True)
            try:
                yield db
                db.storage.commit()
            finally:
                db.close()

    @contextmanager
    def reading(self, plan_id: str) -> Iterator[TinyDB]:
        """Yield a fresh read-only TinyDB on the plan's last committed state (empty if none)."""
        # No lock needed: files are replaced whole, so a reader sees one version.
        plan_id = check_plan_id(plan_id)
        db = TinyDB(storage=_Section, backing=self._backing(plan_id, False), writable=False)
        try:
            yield db
        finally:
            db.close()

    def exists(self, plan_id: str) -> bool:
        """Whether the plan has been stored."""
        plan_id = check_plan_id(plan_id)
        if self._memory is not None:
            plan = self._memory.get(plan_id)
            return plan is not None and plan.memory is not None
        return self._path(plan_id).is_file()

    def delete(self, plan_id: str) -> bool:
        """Remove the plan's file under its lock; False if there was none."""
        if not self.exists(plan_id):
            return False
        with self._lock(plan_id):
            if self._memory is not None:
                plan = self._memory.pop(plan_id, None)
                return plan is not None and plan.memory is not None
            try:
                self._path(plan_id).unlink()
            except FileNotFoundError:
                return False
            _fsync_folder(self.folder)
            # The lock file stays: unlinking it while another process waits on
            # it would let that process and a newcomer lock two different files.
            return True

    def plan_ids(self) -> list[str]:
        """The ids of all stored plans, sorted."""
        if self._memory is not None:
            return sorted(key for key, plan in self._memory.items() if plan.memory is not None)
        names = (path.name.removesuffix(".json") for path in self.folder.glob("*.json"))
        return sorted(name for name in names if PLAN_ID.fullmatch(name))

    def remove_stale_temp_files(self, older_than_s: float = 60.0) -> int:
        """Delete temp files left by writers that were killed mid-write; return how many."""
        if self.folder is None:
            return 0
        removed = 0
        for path in self.folder.glob(f"{TEMP_PREFIX}*.json"):
            with suppress(FileNotFoundError):
                if time.time() - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed += 1
        return removed

    def _path(self, plan_id: str) -> Path:
        return self.folder / f"{check_plan_id(plan_id)}.json"

    def _backing(self, plan_id: str, keep: bool) -> Storage:
        if self._memory is None:
            return AtomicJSONStorage(self._path(plan_id))
        if keep:
            return self._memory.setdefault(plan_id, _MemoryPlan())
        # A reader of an unknown id gets an empty plan that is not kept.
        return self._memory.get(plan_id) or _MemoryPlan()

    def _lock(self, plan_id: str) -> AbstractContextManager[None]:
        return self._memory_lock(plan_id) if self._memory is not None else self._file_lock(plan_id)

    @contextmanager
    def _file_lock(self, plan_id: str) -> Iterator[None]:
        # preserve_lock_file: flock(2) only, never filelock's fallback to a
        # marker file, which a killed worker would leave behind, still locked.
        lock = FileLock(
            self.folder / f"{plan_id}.json.lock",
            timeout=self.lock_timeout_s,
            poll_interval=LOCK_POLL_S,
            mode=0o600,
            preserve_lock_file=True,
        )
        try:
            lock.acquire()
        except Timeout:
            raise StoreBusy(f"plan lock held for more than {self.lock_timeout_s} s") from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def _memory_lock(self, plan_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._thread_locks.setdefault(plan_id, threading.Lock())
        if not lock.acquire(timeout=self.lock_timeout_s):
            raise StoreBusy(f"plan lock held for more than {self.lock_timeout_s} s")
        try:
            yield
        finally:
            lock.release()
