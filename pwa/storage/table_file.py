"""A store file's format: one JSON line per TinyDB table, written whole, read lazily.

`AtomicJSONStorage` is the TinyDB storage for one file: it replaces the file whole
(temp file, fsync, rename, fsync the folder), so a crash leaves the old or the new
file, and it reads the file's head first and the rest only when asked for
(`Tables`), so a request that needs a plan's devices never reads its events.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import MutableMapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

TEMP_PREFIX = ".tmp-"
# What a read takes from a plan file at first: its plan and devices lines fit many
# times over, so a credential check never reads a big plan's events.
HEAD_BYTES = 64 * 1024

Data = MutableMapping[str, dict[str, Any]]


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


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
