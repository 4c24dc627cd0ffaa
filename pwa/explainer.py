"""The PIH and microneedling explainer: pages written as Markdown with TOML front matter.

Shipped pages live in `pwa/content/`.  A clinic overrides one by dropping a
file with the same name into `DATA_DIR/content/` (or adds a page with a new
name).  Every page must carry a title, summary, order, reviewed date and at
least one source; a file that lacks any of them stops the app at start-up
with a message naming the file, so a broken page never reaches a client.
No Flask here: this module only reads and renders files.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from pathlib import Path

from markdown_it import MarkdownIt

SHIPPED_DIR = Path(__file__).resolve().parent / "content"
FRONT_MATTER_FENCE = "+++"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Raw HTML in Markdown is escaped, not passed through: pages then cannot add
# inline scripts or styles that the Content-Security-Policy would block.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


class ContentError(ValueError):
    """An explainer file cannot be used; the message names the file."""


@dataclass(frozen=True)
class Source:
    """One reference a page's facts come from."""

    name: str
    detail: str = ""


@dataclass(frozen=True)
class Page:
    """One explainer page, parsed and rendered."""

    slug: str
    title: str
    summary: str
    order: int
    reviewed: date
    sources: tuple[Source, ...]
    body_html: str
    from_clinic: bool = False
    reviewed_by: str = ""


def load_pages(override_dir: Path | None = None) -> dict[str, Page]:
    """All pages by slug, in reading order; clinic files replace shipped ones."""
    files = {path.stem: (path, False) for path in SHIPPED_DIR.glob("*.md")}
    if override_dir is not None and override_dir.is_dir():
        files.update({path.stem: (path, True) for path in override_dir.glob("*.md")})
    pages = [parse_page(path, from_clinic) for path, from_clinic in files.values()]
    return {page.slug: page for page in sorted(pages, key=lambda p: (p.order, p.title))}


def parse_page(path: Path, from_clinic: bool = False) -> Page:
    """Read one Markdown file with front matter into a `Page`."""
    if not SLUG.match(path.stem):
        raise ContentError(f"{path}: file names use lower-case letters, digits and dashes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(f"{path}: not UTF-8 text") from None
    meta, body = _split_front_matter(path, text)
    try:
        return Page(
            slug=path.stem,
            title=_required_text(meta, "title"),
            summary=_required_text(meta, "summary"),
            order=_required(meta, "order", int),
            reviewed=_required(meta, "reviewed", date),
            sources=_sources(meta),
            body_html=_markdown.render(body),
            from_clinic=from_clinic,
            reviewed_by=str(meta.get("reviewed_by", "")).strip(),
        )
    except ValueError as error:
        raise ContentError(f"{path}: {error}") from None


def _split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    fences = [i for i, line in enumerate(lines) if line.strip() == FRONT_MATTER_FENCE]
    if len(fences) < 2 or fences[0] != 0:
        raise ContentError(f"{path}: must start with front matter between two '+++' lines")
    try:
        meta = tomllib.loads("".join(lines[1 : fences[1]]))
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"{path}: front matter is not valid TOML ({error})") from None
    return meta, "".join(lines[fences[1] + 1 :])


def _required(meta: dict, key: str, kind: type):
    value = meta.get(key)
    # bool is an int subclass, and a datetime is a date: neither is what we want.
    if not isinstance(value, kind) or isinstance(value, bool | datetime):
        raise ValueError(f"front matter needs '{key}' as {kind.__name__}")
    return value


def _required_text(meta: dict, key: str) -> str:
    value = _required(meta, key, str).strip()
    if not value:
        raise ValueError(f"front matter '{key}' is empty")
    return value


def _sources(meta: dict) -> tuple[Source, ...]:
    raw = meta.get("sources")
    if not isinstance(raw, list) or not raw:
        raise ValueError("front matter needs at least one [[sources]] entry")
    sources = []
    for entry in raw:
        if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
            raise ValueError("every [[sources]] entry needs a 'name'")
        sources.append(Source(str(entry["name"]).strip(), str(entry.get("detail", "")).strip()))
    return tuple(sources)
