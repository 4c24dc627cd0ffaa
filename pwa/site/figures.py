"""The explainer's figures: drawings made for this app, shown inline on Learn pages.

Each figure is an SVG file in `pwa/site/figures/` with its words in `figures.toml`:
a title, a description (the drawing's text alternative), a legend keyed to the numbered
marks in the drawing (text that zooms and reflows, as text inside a drawing does not),
an optional caption, and the sources its claims come from.  A page shows a figure where
a paragraph of its Markdown reads `[figure: <id>]`; the page must cite the figure's
sources too, so its source list covers what the figure says.  Colours that must follow
dark mode (labels, lines, marks) come from classes the stylesheet colours (`fig-*`).

A drawing may hold shapes, text and gradients only: no script, no event handler, no
link, no reference to anything outside itself, and every id starts with the figure's id
(several figures can share a page).  A file that breaks a rule stops the app at start-up.
No Flask here.
"""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..care import sources as source_registry

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
PLACEHOLDER = re.compile(r"<p>\[figure: ([a-z0-9-]+)\]</p>")
SVG_NS = "{http://www.w3.org/2000/svg}"
DRAWING_TAGS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "defs", "linearGradient", "radialGradient", "stop",
}  # fmt: skip
# A fill or stroke may point only at a gradient of the same drawing.
OUTSIDE_REFERENCE = re.compile(r"url\(\s*(?!#)|href|@import|javascript:", re.I)


class FigureError(ValueError):
    """A figure or its use cannot be shown; the message names the file."""


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    description: str
    legend: tuple[str, ...]
    legend_marks: tuple[str, ...]
    caption: str
    sources: tuple[source_registry.Source, ...]
    drawing: str

    @property
    def html(self) -> str:
        """The figure as a page shows it: the drawing named by its title and description,
        then the title, legend, caption and sources in words."""
        title_id, desc_id = f"figure-{self.id}-title", f"figure-{self.id}-desc"
        named = (
            f'<svg role="img" aria-labelledby="{title_id} {desc_id}" class="figure__drawing"'
            f"{self.drawing.removeprefix('<svg')}"
        )
        opening_end = named.index(">") + 1
        named = (
            named[:opening_end]
            + f'<title id="{title_id}">{escape(self.title)}</title>'
            + f'<desc id="{desc_id}">{escape(self.description)}</desc>'
            + named[opening_end:]
        )
        # Numbered marks key an ordered list; named marks (I to VI) start their own lines.
        numbered = self.legend_marks == tuple(str(n) for n in range(1, len(self.legend) + 1))
        lines = "".join(f"<li>{escape(line)}</li>" for line in self.legend)
        legend = (
            f'<ol class="figure__legend">{lines}</ol>'
            if numbered
            else f'<ul class="figure__legend figure__legend--named">{lines}</ul>'
        )
        caption = f"<p>{escape(self.caption)}</p>" if self.caption else ""
        # To the full citation in the page's own source list (templates/learn/page.html).
        cited = "; ".join(
            f'<a href="#source-{source.id}">'
            f"{escape(source_registry.short_name(source.citation))}</a>"
            for source in self.sources
        )
        return (
            f'<figure class="figure" id="figure-{self.id}">{named}<figcaption>'
            f'<p class="figure__title">{escape(self.title)}</p>'
            f"{legend}{caption}"
            f'<p class="figure__source">Source: {cited}</p></figcaption></figure>'
        )


def swatches(figure: Figure) -> dict[str, str]:
    """{mark: colour} of a figure whose drawing is a row of swatches (`fig-swatch`), as
    onboarding shows them beside the skin types: one drawing, one set of colours."""
    group = re.search(r'<g class="fig-swatch">(.*?)</g>', figure.drawing, re.S)
    colours = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"', group.group(1)) if group else []
    if len(colours) != len(figure.legend_marks):
        raise FigureError(f"{figure.id}: not one swatch for each of {figure.legend_marks}")
    return dict(zip(figure.legend_marks, colours, strict=True))


def load_figures(
    registry: source_registry.Registry, folder: Path = FIGURES_DIR
) -> dict[str, Figure]:
    """Every figure by id, checked; FigureError names the first problem."""
    index = folder / "figures.toml"
    try:
        entries = tomllib.loads(index.read_text(encoding="utf-8"))["figures"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise FigureError(f"{index}: needs a list of [[figures]] tables ({error})") from None
    figures = {}
    for number, entry in enumerate(entries):
        where = f"{index}: figures[{number}]"
        figure = _figure(entry, where, folder, registry)
        if figure.id in figures:
            raise FigureError(f"{where}.id: {figure.id!r} is listed twice")
        figures[figure.id] = figure
    return figures


def _figure(entry: dict, where: str, folder: Path, registry) -> Figure:
    texts = {key: entry.get(key) for key in ("id", "title", "description")}
    for key, value in texts.items():
        if not isinstance(value, str) or not value.strip():
            raise FigureError(f"{where}.{key}: is required, as text")
    legend = entry.get("legend")
    if not isinstance(legend, list) or not legend or not all(isinstance(x, str) for x in legend):
        raise FigureError(f"{where}.legend: a list of lines, one for each mark in the drawing")
    marks = entry.get("legend_marks", [str(n) for n in range(1, len(legend) + 1)])
    if len(marks) != len(legend):
        raise FigureError(f"{where}.legend_marks: one mark for each legend line")
    cited = entry.get("sources")
    if not isinstance(cited, list) or not cited:
        raise FigureError(f"{where}.sources: a figure names the sources it was drawn from")
    try:
        sources = tuple(source_registry.check_cited(registry, s, where) for s in cited)
    except source_registry.SourceError as error:
        raise FigureError(str(error)) from None
    path = folder / f"{texts['id']}.svg"
    drawing = _checked_drawing(path, texts["id"])
    for mark in marks:
        if f">{mark}</text>" not in drawing:
            raise FigureError(f"{path}: the legend's mark {mark!r} is not in the drawing")
    return Figure(
        id=texts["id"],
        title=texts["title"].strip(),
        description=texts["description"].strip(),
        legend=tuple(legend),
        legend_marks=tuple(marks),
        caption=str(entry.get("caption", "")).strip(),
        sources=sources,
        drawing=drawing,
    )


def _checked_drawing(path: Path, figure_id: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise FigureError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        root = ElementTree.fromstring(text.replace("<svg ", f'<svg xmlns="{SVG_NS[1:-1]}" ', 1))
    except ElementTree.ParseError as error:
        raise FigureError(f"{path}: not well-formed SVG ({error})") from None
    if not text.startswith("<svg ") or "viewBox" not in root.attrib:
        raise FigureError(f"{path}: must be one <svg> element with a viewBox")
    for element in root.iter():
        tag = element.tag.removeprefix(SVG_NS)
        if tag not in DRAWING_TAGS:
            raise FigureError(f"{path}: <{tag}> is not allowed in a drawing")
        for name, value in element.attrib.items():
            if name.lower().startswith("on") or OUTSIDE_REFERENCE.search(f"{name}={value}"):
                raise FigureError(f"{path}: <{tag} {name}> is not allowed in a drawing")
            if name == "id" and not value.startswith(f"{figure_id}-"):
                raise FigureError(f"{path}: id {value!r} must start with {figure_id!r}-")
    return text


def insert_figures(body_html: str, figures: dict[str, Figure], cited: set[str], where: str):
    """`body_html` with each `[figure: id]` paragraph replaced by its figure; FigureError
    for an unknown figure, or one whose sources the page does not cite."""

    def figure_for(match: re.Match) -> str:
        figure = figures.get(match.group(1))
        if figure is None:
            raise FigureError(f"{where}: shows figure {match.group(1)!r}, which does not exist")
        missing = [source.id for source in figure.sources if source.id not in cited]
        if missing:
            raise FigureError(
                f"{where}: shows figure {figure.id!r}, but does not cite its sources {missing}"
            )
        return figure.html

    return PLACEHOLDER.sub(figure_for, body_html)
