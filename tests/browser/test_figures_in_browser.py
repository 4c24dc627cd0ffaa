"""The explainer's figures in Chromium at phone size, in both themes: each drawn, named
by its title and description for a screen reader, and its legend readable."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pwa.care.sources import load_registry
from pwa.site.figures import load_figures

FIGURES = load_figures(load_registry())
PAGE_OF = {
    "skin-layers": "what-is-pih",
    "fading-timeline": "what-is-pih",
    "fitzpatrick-scale": "who-is-at-risk",
    "microneedling": "what-is-microneedling",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_each_figure_is_drawn_named_and_explained(live_server, browser, scheme, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    page = context.new_page()
    try:
        for figure_id, slug in PAGE_OF.items():
            figure = FIGURES[figure_id]
            page.goto(f"{live_server.url}/learn/{slug}")
            shown = page.locator(f"#figure-{figure_id}")
            drawing = shown.get_by_role("img", name=f"{figure.title} {figure.description}")
            expect(drawing).to_be_visible()
            box = drawing.bounding_box()
            assert box["width"] > 250 and box["height"] > 50, box
            expect(shown.locator("figcaption li")).to_have_text(list(figure.legend))
            # Each source link leads to the full citation in the page's list.
            for source in figure.sources:
                expect(page.locator(f"#source-{source.id}")).to_contain_text(source.citation)
            # Labels and marks follow the theme: the marks' text is not the page's colour.
            text_colour = page.evaluate("getComputedStyle(document.body).color")
            mark = shown.locator(".fig-mark text").first
            if mark.count():
                assert mark.evaluate("e => getComputedStyle(e).fill") != text_colour
            shown.screenshot(path=tmp_path / f"{figure_id}-{scheme}.png")
    finally:
        context.close()
