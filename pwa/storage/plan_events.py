"""How a plan file keeps its events: a table per month of ticks, one for session edits.

A tick belongs to the table of its day's month (`ticks-2026-11`), and every edit of a
box lands in the same table as the box's other ticks, so compacting a box (keeping
only its winner, merge.compact) and spotting a replayed event both look at one small
table.  A sync that ticks today's boxes parses and rewrites this month's table only,
however long the plan has run; the other months stay in the file as the bytes they
were read as (table_file.Tables).  Session edits are few and all kept: they share one table.

The plan's meta holds an index, {table: [oldest seq, newest seq, events held]}, so a
device that is up to date parses no event table at all, one a little behind only the
tables written since, a page of a long plan only the tables it is drawn from, and the
plan's size is known without reading any.  A file written
before (all events in one `events` table, no index) is read whole as one table and
split on its next write.

Plain functions over a plan file's tables (a mapping of table name to
{document id: event}); plan_sync.py holds the lock and writes the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from ..care import merge

SESSIONS = "sessions"
TICKS_PREFIX = "ticks-"
# All events in one table, as files were written before there was an index.
UNSPLIT = "events"

Index = dict[str, list[int]]


def table_for(event: Mapping[str, Any]) -> str:
    """The table that holds `event` (and every other event of its box)."""
    if merge.is_session_event(event):
        return SESSIONS
    return TICKS_PREFIX + event["day"][:7]


def is_event_table(name: str) -> bool:
    """Whether a plan file's table `name` holds events."""
    return name in (SESSIONS, UNSPLIT) or name.startswith(TICKS_PREFIX)


class PlanEvents:
    """A plan's events as its file holds them; each table parsed when first needed."""

    def __init__(self, tables: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
        self._tables = tables
        index = meta.get("event_tables")
        # A file from before the index: its one table stands for all of them.
        self.unsplit = index is None and UNSPLIT in tables
        self.index: Index = {UNSPLIT: [0, meta["seq"], -1]} if self.unsplit else dict(index or {})
        self._ids: dict[str, set[str]] = {}

    def table(self, name: str) -> dict[str, dict]:
        """{document id: event} of one table (empty if the plan has none)."""
        if self.unsplit:
            return {
                key: event
                for key, event in self._tables[UNSPLIT].items()
                if table_for(event) == name
            }
        return self._tables[name] if name in self.index else {}

    def after(self, cursor: int, limit: int | None = None) -> list[dict]:
        """The events with a seq above `cursor`, oldest first: all of them, or (given a
        `limit`) at least the first `limit` + 1, parsing only the tables those are in."""
        due = sorted(
            (oldest, name) for name, (oldest, newest, _) in self.index.items() if newest > cursor
        )
        found: list[dict] = []
        for oldest, name in due:
            if limit is not None and len(found) > limit:
                found.sort(key=_seq)
                # This table, and every one after it, starts past the events found.
                if found[limit]["seq"] < oldest:
                    break
            found += [event for event in self._tables[name].values() if event["seq"] > cursor]
        found.sort(key=_seq)
        return found

    def sessions(self) -> list[dict]:
        """Every session edit, oldest first."""
        edits = list(self.table(SESSIONS).values())
        edits.sort(key=_seq)
        return edits

    def knows(self, event: Mapping[str, Any]) -> bool:
        """Whether an event with this id is stored in the table it would go to.

        Only the plan's own devices can send an id again with another day; that stores a
        second event, which only that plan sees, and the merge stays deterministic.
        """
        name = table_for(event)
        if name not in self._ids:
            self._ids[name] = {stored["id"] for stored in self.table(name).values()}
        return event["id"] in self._ids[name]

    def fresh_by_table(self, batch: Iterable[dict]) -> dict[str, list[dict]]:
        """The events of `batch` the plan does not hold, grouped by the table each goes to."""
        grouped: dict[str, list[dict]] = {}
        for event in batch:
            if not self.knows(event):
                grouped.setdefault(table_for(event), []).append(event)
        return grouped

    def would_store(self, batch: Iterable[dict]) -> bool:
        """Whether any event of `batch` would be stored: one the plan does not hold that
        wins its box (or is a session edit).  Looks only at the batch's own tables."""
        return any(
            merge.compact(self.table(name).values(), fresh)[0]
            for name, fresh in self.fresh_by_table(batch).items()
        )


@dataclass(frozen=True)
class Change:
    """What applying a batch would do; `write_into` does it."""

    stored: list[dict]  # the events to store, numbered, oldest first
    held: int  # how many events the plan holds after
    seq: int  # the plan's seq after
    index: Index  # the meta's event_tables after
    replaced: dict[str, dict[str, dict]]  # the tables replaced, whole
    split: bool  # whether the one table of an older file goes

    def write_into(self, tables: MutableMapping[str, Any]) -> None:
        # Tables are replaced, never changed in place: one may be shared with a
        # snapshot (table_file.Tables.reuse).
        for name, table in self.replaced.items():
            tables[name] = table
        if self.split:
            del tables[UNSPLIT]


def apply(tables: Mapping[str, Any], meta: Mapping[str, Any], batch: Iterable[dict]) -> Change:
    """Which batch events to store (those that win their box, and every session edit),
    each in its table with the next seq, and which stored ticks they supersede.

    Events the plan already holds (by id, in their table) are skipped.  Nothing is
    changed until the caller writes the Change into the tables.
    """
    events = PlanEvents(tables, meta)
    grouped = events.fresh_by_table(batch)
    if events.unsplit:
        # Split on this write: every table is new.
        replaced = _split(tables[UNSPLIT])
        index: Index = {name: _summary(table) for name, table in replaced.items()}
    else:
        replaced, index = {}, dict(events.index)
    seq = meta["seq"]
    stored: list[dict] = []
    for name, fresh in grouped.items():
        table = replaced[name] if name in replaced else events.table(name)
        kept, superseded = merge.compact(table.values(), fresh)
        if not kept:
            continue
        dropped = {id(event) for event in superseded}
        table = {key: event for key, event in table.items() if id(event) not in dropped}
        next_key = max(map(int, table), default=0) + 1
        for n, event in enumerate(kept):
            seq += 1
            table[str(next_key + n)] = numbered = {**event, "seq": seq}
            stored.append(numbered)
        replaced[name] = table
        index[name] = _summary(table)
    held = sum(count for _, _, count in index.values())
    return Change(stored, held, seq, index, replaced, events.unsplit)


def _split(unsplit: Mapping[str, dict]) -> dict[str, dict[str, dict]]:
    tables: dict[str, dict[str, dict]] = {}
    for key, event in unsplit.items():
        tables.setdefault(table_for(event), {})[key] = event
    return tables


def _summary(table: Mapping[str, dict]) -> list[int]:
    seqs = [event["seq"] for event in table.values()]
    return [min(seqs, default=0), max(seqs, default=0), len(table)]


def _seq(event: Mapping[str, Any]) -> int:
    return event["seq"]


def public_event(event: dict) -> dict:
    """The event as its device sent it: without the internal `seq`."""
    return {name: event[name] for name in merge.fields_of(event)}
