"""The source registry: every reference the app cites, once, by a stable id.

Shipped entries live in `pwa/care/sources.toml`; a clinic adds or replaces entries
in `DATA_DIR/sources.toml`.  Protocols, readiness questions and Learn pages
name sources by id, and `check_cited` refuses an id the registry lacks, so a
citation can never point at nothing.  No Flask here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SHIPPED_FILE = Path(__file__).resolve().parent / "sources.toml"
SOURCE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK = re.compile(r"^https?://\S+$")


class SourceError(ValueError):
    """The registry or a citation cannot be used; the message names the file and id."""


@dataclass(frozen=True)
class Source:
    """One reference: what it is, where to read it, and when someone last did."""

    id: str
    citation: str
    link: str
    kind: str
    read_on: date | None
    supports: str

    def as_json(self) -> dict:
        """The fields a phone keeps offline (dates as ISO text)."""
        return {**asdict(self), "read_on": self.read_on.isoformat() if self.read_on else ""}


Registry = dict[str, Source]


def uncatalogued(citation: str, kind: str = "") -> Source:
    """A source a clinic's older page lists by name alone, outside the registry."""
    return Source("", citation.strip(), "", kind.strip(), None, "")


def short_name(citation: str) -> str:
    """A citation in a few words: 'Chu 2021' for 'Chu S, Foulad DP, … 2021;47(9)…', the
    publisher for a page with no year ('Fifth Element Esthetics')."""
    # A journal's "2021;47(9)" first: a title may hold other years ("2018-2023.").
    year = re.search(r"\b(?:19|20)\d\d(?=;)", citation) or re.search(
        r"\b(?:19|20)\d\d(?=\.|$)", citation
    )
    if not year:
        return citation.split(". ")[0].rstrip(".")
    return f"{re.split(r'[ ,.]', citation, maxsplit=1)[0]} {year.group(0)}"


def load_registry(override_file: Path | None = None) -> Registry:
    """Every source by id; a clinic's entry replaces the shipped one with the same id."""
    registry = _read(SHIPPED_FILE)
    if override_file is not None and override_file.is_file():
        registry.update(_read(override_file))
    return registry


def check_cited(registry: Registry, source_id: object, where: str) -> Source:
    """The source `where` cites, or SourceError naming the place and the unknown id."""
    if not isinstance(source_id, str) or source_id not in registry:
        raise SourceError(f"{where}: cites {source_id!r}, which is not in the source registry")
    return registry[source_id]


def _read(path: Path) -> Registry:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SourceError(f"{path}: not valid TOML ({error})") from None
    entries = data.get("sources")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourceError(f"{path}: needs a list of [[sources]] tables")
    registry: Registry = {}
    for index, entry in enumerate(entries):
        where = f"{path}: sources[{index}]"
        source_id = entry.get("id")
        if not isinstance(source_id, str) or not SOURCE_ID.match(source_id):
            raise SourceError(f"{where}.id: use lower-case letters, digits and dashes")
        if source_id in registry:
            raise SourceError(f"{where}.id: {source_id!r} is listed twice")
        for key in ("citation", "kind", "supports"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SourceError(f"{where}.{key}: is required, as text")
        if not isinstance(entry.get("link"), str) or not LINK.match(entry["link"]):
            raise SourceError(f"{where}.link: must be an http(s) address or a DOI link")
        read_on = entry.get("read_on")
        if not isinstance(read_on, date) or hasattr(read_on, "hour"):
            raise SourceError(f"{where}.read_on: must be a date, YYYY-MM-DD")
        registry[source_id] = Source(
            source_id,
            entry["citation"].strip(),
            entry["link"],
            entry["kind"].strip(),
            read_on,
            entry["supports"].strip(),
        )
    return registry
