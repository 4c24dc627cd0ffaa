"""The PIH and microneedling explainer: pages written as Markdown with TOML front matter.

Shipped pages live in `pwa/site/content/`.  A clinic overrides one by dropping a
file with the same name into `DATA_DIR/content/` (or adds a page with a new
name).  Every page carries a title, summary, order, the date it was last
updated and the sources it was written from, named by their id in the source
registry (`pwa/care/sources.toml`); an unknown id, or a missing field, stops the
app at start-up with a message naming the file, so a broken page never
reaches a client.

Clinic files written before the registry keep working: they may still list
`[[sources]]` tables with `name` and `detail`, and date themselves with
`reviewed` instead of `updated`.  Shipped pages may not.
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

from ..care import sources as source_registry
from . import figures as figure_drawings

SHIPPED_DIR = Path(__file__).resolve().parent / "content"
FRONT_MATTER_FENCE = "+++"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Raw HTML in Markdown is escaped, not passed through: pages then cannot add
# inline scripts or styles that the Content-Security-Policy would block.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


class ContentError(ValueError):
    """An explainer file cannot be used; the message names the file."""


@dataclass(frozen=True)
class Review:
    """Who reviewed a page and when; `changed_since` if the page was updated after."""

    reviewer: str
    on: date
    changed_since: bool


@dataclass(frozen=True)
class Page:
    """One explainer page, parsed and rendered."""

    slug: str
    title: str
    summary: str
    order: int
    updated: date
    sources: tuple[source_registry.Source, ...]
    body_html: str
    from_clinic: bool = False
    reviewed_by: str = ""
    reviewed_on: date | None = None

    def review(self, site_reviewer: str = "", site_reviewed_on: date | None = None):
        """The review that applies to this page, or None when no clinician has reviewed it.

        The page's own reviewer wins over the site-wide one.  A review dated
        before the page's last update still counts as who reviewed it, but
        says that the page has changed since.
        """
        if self.reviewed_by and self.reviewed_on is not None:
            reviewer, on = self.reviewed_by, self.reviewed_on
        elif site_reviewer and site_reviewed_on is not None:
            reviewer, on = site_reviewer, site_reviewed_on
        else:
            return None
        return Review(reviewer, on, changed_since=self.updated > on)


def load_pages(
    override_dir: Path | None = None,
    registry: source_registry.Registry | None = None,
    figures: dict[str, figure_drawings.Figure] | None = None,
) -> dict[str, Page]:
    """All pages by slug, in reading order; clinic files replace shipped ones.

    `registry` is the source registry the pages cite (the shipped one when None);
    `figures` those the pages may show (the shipped ones when None).
    """
    if registry is None:
        registry = source_registry.load_registry()
    if figures is None:
        figures = load_figures(registry)
    files = {path.stem: (path, False) for path in SHIPPED_DIR.glob("*.md")}
    if override_dir is not None and override_dir.is_dir():
        files.update({path.stem: (path, True) for path in override_dir.glob("*.md")})
    pages = [
        parse_page(path, registry, from_clinic, figures) for path, from_clinic in files.values()
    ]
    return {page.slug: page for page in sorted(pages, key=lambda p: (p.order, p.title))}


def load_figures(registry: source_registry.Registry) -> dict[str, figure_drawings.Figure]:
    """The shipped figures, or ContentError naming what is wrong with one."""
    try:
        return figure_drawings.load_figures(registry)
    except figure_drawings.FigureError as error:
        raise ContentError(str(error)) from None


def parse_page(
    path: Path,
    registry: source_registry.Registry,
    from_clinic: bool = False,
    figures: dict[str, figure_drawings.Figure] | None = None,
) -> Page:
    """Read one Markdown file with front matter into a `Page`; `figures` are those its
    `[figure: id]` paragraphs may show."""
    if not SLUG.match(path.stem):
        raise ContentError(f"{path}: file names use lower-case letters, digits and dashes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(f"{path}: not UTF-8 text") from None
    meta, body = _split_front_matter(path, text)
    try:
        title = _required_text(meta, "title")
        summary = _required_text(meta, "summary")
        order = _required(meta, "order", int)
        updated = _updated(meta, from_clinic)
        cited = _sources(meta, registry, from_clinic, path)
        reviewed_by, reviewed_on = _page_review(meta, from_clinic)
        return Page(
            slug=path.stem,
            title=title,
            summary=summary,
            order=order,
            updated=updated,
            sources=cited,
            body_html=figure_drawings.insert_figures(
                _markdown.render(body),
                figures or {},
                {source.id for source in cited},
                str(path),
            ),
            from_clinic=from_clinic,
            reviewed_by=reviewed_by,
            reviewed_on=reviewed_on,
        )
    except (source_registry.SourceError, figure_drawings.FigureError) as error:
        raise ContentError(str(error)) from None
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


def _updated(meta: dict, from_clinic: bool) -> date:
    # Clinic files from before `updated` existed dated themselves with `reviewed`.
    if from_clinic and "updated" not in meta and "reviewed" in meta:
        return _required(meta, "reviewed", date)
    return _required(meta, "updated", date)


def _page_review(meta: dict, from_clinic: bool) -> tuple[str, date | None]:
    reviewed_by = meta.get("reviewed_by", "")
    if not isinstance(reviewed_by, str):
        raise ValueError("front matter 'reviewed_by' must be text")
    reviewed_by = reviewed_by.strip()
    if "reviewed_on" in meta:
        reviewed_on = _required(meta, "reviewed_on", date)
        if not reviewed_by:
            raise ValueError("front matter has 'reviewed_on' but no 'reviewed_by'")
        return reviewed_by, reviewed_on
    if not reviewed_by:
        return "", None
    # An old clinic file: `reviewed` was the date its named reviewer checked it.
    if from_clinic and "reviewed" in meta:
        return reviewed_by, _required(meta, "reviewed", date)
    raise ValueError("front matter has 'reviewed_by' but no 'reviewed_on' date")


def _sources(
    meta: dict, registry: source_registry.Registry, from_clinic: bool, path: Path
) -> tuple[source_registry.Source, ...]:
    raw = meta.get("sources")
    if not isinstance(raw, list) or not raw:
        raise ValueError('front matter needs a list of source ids, e.g. sources = ["chu2021"]')
    found = []
    for entry in raw:
        if isinstance(entry, str):
            cited = source_registry.check_cited(registry, entry, str(path))
            found.append(cited)
        elif from_clinic and isinstance(entry, dict):
            # The old layout, still accepted from clinic files only.
            name = entry.get("name")
            if not isinstance(name, str) or not name.strip():
                raise ValueError("every [[sources]] entry needs a 'name'")
            found.append(source_registry.uncatalogued(name, str(entry.get("detail", ""))))
        else:
            raise ValueError(
                f"sources: {entry!r} is not a source id; name sources by their id "
                "in the source registry"
            )
    return tuple(found)
