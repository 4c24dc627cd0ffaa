"""The plan store: one small JSON file per plan, opened through TinyDB, safe across processes.

This is the only module that constructs `TinyDB`; `repository.py` is the
only one that queries it, and views call the repository.  `Store.locked`
gives one caller at a time a fresh `TinyDB` on one plan and turns everything
written inside the block into a single atomic file replace at the end (or
nothing, if the block raises).  `Store.reading` gives a fresh read-only
`TinyDB` on the last committed state without waiting for the lock.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import MutableMapping
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

# TinyDB's docs ("Why Not Use TinyDB?") warn against "access from multiple
# processes or threads (e.g. when using Flask!)", and gunicorn runs several
# worker processes.  So no TinyDB outlives a request: each block gets a fresh
# one (its query cache and next-id counter are per instance and go stale when
# another worker writes), writers hold a file lock across the whole
# read-modify-write, and files are only ever replaced whole.

# Opaque server-made ids only: nothing that could name another path.
PLAN_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Waiting longer than this for one plan's lock means something is stuck;
# fail the request rather than pile up workers behind it.
LOCK_TIMEOUT_S = 10.0
# filelock retries a taken lock by polling; its 50 ms default would add up to
# 50 ms to a request that waits behind a write lasting a few milliseconds.
LOCK_POLL_S = 0.002
TEMP_PREFIX = ".tmp-"
# What a read takes from a plan file at first: its plan and devices lines fit many
# times over, so a credential check never reads a big plan's events.
HEAD_BYTES = 64 * 1024

Data = MutableMapping[str, dict[str, Any]]


class PlanNotFound(LookupError):
    """The plan does not exist (or was deleted while the caller waited for it)."""


class StoreBusy(TimeoutError):
    """A plan's lock stayed taken for longer than the store's lock timeout."""


def check_plan_id(plan_id: Any) -> str:
    """Return `plan_id` if it is safe to use in a file name, else raise ValueError."""
    if not isinstance(plan_id, str) or not PLAN_ID.fullmatch(plan_id):
        raise ValueError("plan id must be 16 to 64 characters of A-Z a-z 0-9 _ -")
    return plan_id


class Tables(MutableMapping):
    """A file's tables ({table: {document id: document}}), each parsed when first asked for.

    The file holds one line per table, `{"<table>":{...}}`, smallest first, so a reader
    that needs only a plan's devices reads the file's head and never its events: a
    stranger's request costs the same small read whether or not the plan is big.
    Given a `rest` (the file's remaining bytes, read when called), the rest is read
    only when a table beyond the head is asked for, or the file is written.  Only the
    lines asked for are decoded.  A file with one line (written before tables had
    lines of their own) is parsed whole.  A table that is read but not replaced is
    written back as the very bytes it was read from.
    """

    def __init__(self, data: bytes = b"", rest: Callable[[], bytes] | None = None) -> None:
        self._data = data
        self._rest = rest
        # Both keyed by table name, in the file's order: `_spans` holds where each table's
        # line is in `_data` (until the table is replaced), `_values` each table parsed or set.
        self._spans: dict[str, tuple[int, int] | None] = {}
        self._values: dict[str, Any] = {}
        self._index()

    def _index(self) -> None:
        data = self._data
        spans = list(_line_spans(data))
        if self._rest is not None:
            if not data.endswith(b"\n"):
                spans.pop()  # the head's last line may be cut short: indexed with the rest
            if not spans:
                self._read_rest()
                return
        elif len(spans) == 1:
            self._values = json.loads(data)
            self._spans = dict.fromkeys(self._values)
            return
        for start, end in spans:
            self._spans[_table_name(data, start)] = (start, end)

    def _read_rest(self) -> None:
        if self._rest is not None:
            more, self._rest = self._rest, None
            self._data += more()
            self._spans.clear()
            self._index()

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            (self._values[name],) = json.loads(self._line(name)).values()
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._read_rest()
        self._spans[name] = None
        self._values[name] = value

    def reuse(self, other: Any, name: str) -> None:
        """Take table `name` as `other` parsed it, if both read it from the very same bytes.

        The parsed table is then shared: whoever holds either must replace it, never
        change it in place.
        """
        if (
            isinstance(other, Tables)
            and name not in self._values
            and name in other._values
            and other._spans.get(name) is not None
            and name in self
            and self._spans[name] is not None
            and other._line(name) == self._line(name)
        ):
            self._values[name] = other._values[name]

    def __contains__(self, name: object) -> bool:
        # Without parsing the table, which Mapping's own __contains__ would do.
        if name not in self._spans:
            self._read_rest()
        return name in self._spans

    def __delitem__(self, name: str) -> None:
        self._read_rest()
        del self._spans[name]
        self._values.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        self._read_rest()
        return iter(list(self._spans))

    def __len__(self) -> int:
        self._read_rest()
        return len(self._spans)

    def lines(self) -> list[bytes]:
        """Each table's line, as read if it was not replaced."""
        self._read_rest()
        return [
            self._line(name) if span else _table_line(name, self[name])
            for name, span in self._spans.items()
        ]

    def _line(self, name: str) -> bytes:
        if name not in self._spans:
            self._read_rest()
        span = self._spans[name]  # KeyError for a table the file does not have
        if span is None:
            raise KeyError(name)
        return self._data[span[0] : span[1]]


def _line_spans(data: bytes) -> Iterator[tuple[int, int]]:
    # bytes.find is a memchr: this costs a fraction of what splitting the text would.
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        if end > start:
            yield start, end
        start = end + 1


def _table_line(name: str, table: Any) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON; other readers would refuse the file.
    # ensure_ascii (the default) keeps the file plain ASCII.
    return json.dumps({name: table}, allow_nan=False, separators=(",", ":")).encode("ascii")


def _table_name(data: bytes, start: int) -> str:
    # Every line was written by _table_line: {"<name>":...; names are plain ASCII.
    if not data.startswith(b'{"', start):
        raise ValueError("not a table line")
    return data[start + 2 : data.index(b'"', start + 2)].decode("ascii")


def _as_bytes(data: Data) -> bytes:
    # The smallest first, so that the tables a reader needs most often (a plan's meta
    # and devices) are in the head it reads (Tables).
    if isinstance(data, Tables):
        lines = data.lines()
    else:
        lines = [_table_line(name, table) for name, table in data.items()]
    return b"".join(line + b"\n" for line in sorted(lines, key=len))


def load_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Every table of a store's file, parsed now (ValueError for a torn or foreign file)."""
    tables = AtomicJSONStorage(path).read()
    return {} if tables is None else {name: tables[name] for name in tables}


class AtomicJSONStorage(Storage):
    """TinyDB storage that replaces its file whole, so a crash leaves the old or the new file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)

    def read(self) -> Tables | None:
        # Open by path on every read: after a replace, an old handle would
        # still show the old file (TinyDB's JSONStorage keeps one open).
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        # The head now, the rest when asked for, both through this descriptor: it stays
        # on the version read even if a writer replaces the file meanwhile.
        reader = _FileReader(fd)
        head = reader.head()
        if reader.done:
            return None if not head or head.isspace() else Tables(head)
        return Tables(head, rest=reader.rest)

    def write(self, data: Data) -> None:
        payload = _as_bytes(data)
        folder = self._path.parent
        # mkstemp: same folder (so the rename stays on one file system) and mode 0600.
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self._path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        # The rename is only durable once the folder's entry is on disk too.
        _fsync_folder(folder)


class _FileReader:
    """One version of a file: its first HEAD_BYTES, then (if asked for) the rest.

    The descriptor is closed once the rest is read, or when the reader is dropped.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        self._size = os.fstat(fd).st_size
        self._offset = 0
        self.done = False

    def head(self) -> bytes:
        return self._read(HEAD_BYTES)

    def rest(self) -> bytes:
        return self._read(self._size - self._offset)

    def _read(self, wanted: int) -> bytes:
        chunks = []
        # A plan file is replaced whole, never written in place: the size holds.
        while wanted > 0 and (chunk := os.pread(self._fd, wanted, self._offset)):
            chunks.append(chunk)
            self._offset += len(chunk)
            wanted -= len(chunk)
        if self._offset >= self._size:
            self.done = True
            self._closer()
        return b"".join(chunks)


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
        # What the repository seals fields of this store with (sealed.SecretBox), if any.
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


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
