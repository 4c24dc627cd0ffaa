"""The explainer's figures (pwa/site/figures.py): what each says in words, what a drawing
may hold, and how a page shows one."""

from __future__ import annotations

import re
import shutil
from html import escape

import pytest

from pwa.care.sources import load_registry
from pwa.site import figures
from pwa.site.explainer import ContentError
from pwa.site.explainer import load_pages
from pwa.site.explainer import parse_page

REGISTRY = load_registry()
SHIPPED = figures.load_figures(REGISTRY)
SHOWN = re.compile(r'<figure class="figure" id="figure-([a-z-]+)"')
# Each drawing's size: small enough to sit in a page that opens offline.
LARGEST_DRAWING = 1_200


def test_the_four_figures_ship_and_each_is_shown_on_a_page():
    assert set(SHIPPED) == {"skin-layers", "fading-timeline", "fitzpatrick-scale", "microneedling"}
    shown = {
        figure_id for page in load_pages().values() for figure_id in SHOWN.findall(page.body_html)
    }
    assert shown == set(SHIPPED)


@pytest.mark.parametrize("figure_id", sorted(SHIPPED))
def test_a_figure_is_named_in_words_and_keys_its_marks_to_its_legend(figure_id):
    figure = SHIPPED[figure_id]
    html = figure.html
    assert len(figure.drawing.encode()) <= LARGEST_DRAWING, len(figure.drawing.encode())
    # The drawing's accessible name is its title and description.
    assert f'role="img" aria-labelledby="figure-{figure_id}-title figure-{figure_id}-desc"' in html
    assert f'<title id="figure-{figure_id}-title">{escape(figure.title)}</title>' in html
    assert f'<desc id="figure-{figure_id}-desc">{escape(figure.description)}</desc>' in html
    assert len(figure.description.split()) >= 12, "the text alternative says what it shows"
    # Every mark in the drawing has its line in the legend, in words.
    drawn_marks = re.findall(r'class="fig-(?:mark|label)".*?</g>', figure.drawing, re.S)
    assert drawn_marks
    assert html.count("<li>") == len(figure.legend) == len(figure.legend_marks)
    for source in figure.sources:
        assert f'<a href="#source-{source.id}">' in html


def test_a_page_cites_the_sources_of_the_figures_it_shows():
    for page in load_pages().values():
        cited = {source.id for source in page.sources}
        for figure_id in re.findall(
            r'<figure class="figure" id="figure-([a-z-]+)"', page.body_html
        ):
            assert {s.id for s in SHIPPED[figure_id].sources} <= cited, (page.slug, figure_id)


def copy_of_the_figures(tmp_path):
    folder = tmp_path / "figures"
    shutil.copytree(figures.FIGURES_DIR, folder)
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('<g class="fig-mark">', '<script>alert(1)</script><g class="fig-mark">'), "<script>"),
        (('<g class="fig-mark">', '<g class="fig-mark" onclick="x()">'), "onclick"),
        (('fill="#e6b7a3"', 'fill="url(https://elsewhere.example/a.svg#x)"'), "fill"),
        (
            ('<circle cx="52" cy="44" r="4"/>', '<a href="x"><circle cx="52" cy="44" r="4"/></a>'),
            "<a>",
        ),
        (('<circle cx="52"', '<circle id="other-dot" cx="52"'), "must start with"),
        ((">2</text>", ">3</text>"), "mark '2'"),
        (('<svg viewBox="0 0 320 176"', "<svg"), "viewBox"),
        (("</svg>", ""), "well-formed"),
    ],
)
def test_a_drawing_that_breaks_a_rule_stops_loading_naming_the_file(tmp_path, change, message):
    folder = copy_of_the_figures(tmp_path)
    drawing = folder / "skin-layers.svg"
    old, new = change
    assert old in drawing.read_text()
    drawing.write_text(drawing.read_text().replace(old, new, 1))
    with pytest.raises(figures.FigureError, match=re.escape(message)) as refused:
        figures.load_figures(REGISTRY, folder)
    assert "skin-layers.svg" in str(refused.value)


def test_a_figure_without_sources_or_citing_an_unknown_one_stops_loading(tmp_path):
    folder = copy_of_the_figures(tmp_path)
    index = folder / "figures.toml"
    text = index.read_text()
    index.write_text(text.replace('sources = ["davis2010"]', "sources = []", 1))
    with pytest.raises(figures.FigureError, match="names the sources"):
        figures.load_figures(REGISTRY, folder)
    index.write_text(text.replace('sources = ["davis2010"]', 'sources = ["nobody2099"]', 1))
    with pytest.raises(figures.FigureError, match="nobody2099"):
        figures.load_figures(REGISTRY, folder)


PAGE = """+++
title = "A page"
summary = "A page with a figure."
order = 9
updated = 2026-12-06
sources = {sources}
+++
Some text.

[figure: {figure}]
"""


def test_a_page_showing_an_unknown_figure_or_one_it_does_not_cite_stops_loading(tmp_path):
    page = tmp_path / "a-page.md"
    page.write_text(PAGE.format(sources='["davis2010"]', figure="no-such-figure"))
    with pytest.raises(ContentError, match="'no-such-figure', which does not exist"):
        parse_page(page, REGISTRY, figures=SHIPPED)
    page.write_text(PAGE.format(sources='["chu2021"]', figure="fading-timeline"))
    with pytest.raises(ContentError, match=r"does not cite its sources \['davis2010'\]"):
        parse_page(page, REGISTRY, figures=SHIPPED)
    page.write_text(PAGE.format(sources='["davis2010"]', figure="fading-timeline"))
    shown = parse_page(page, REGISTRY, figures=SHIPPED)
    assert '<figure class="figure" id="figure-fading-timeline">' in shown.body_html
    assert "[figure:" not in shown.body_html


def test_onboarding_shows_each_skin_type_beside_its_colour_from_the_scale(client):
    colours = figures.swatches(SHIPPED["fitzpatrick-scale"])
    assert list(colours) == ["I", "II", "III", "IV", "V", "VI"]
    assert len(set(colours.values())) == 6
    form = client.get("/").text
    for skin_type, colour in colours.items():
        choice = re.search(rf'value="{skin_type}">(.*?)</label>', form, re.S)
        assert choice, skin_type
        assert f'fill="{colour}"' in choice.group(1) and 'aria-hidden="true"' in choice.group(1)
    not_sure = re.search(r'value="not-sure" checked>(.*?)</label>', form, re.S).group(1)
    assert "<svg" not in not_sure
    # No link away from a half-filled form: the swatches and hints are the help.
    assert "who-is-at-risk" not in form.split("data-onboarding")[1].split("</form>")[0]
