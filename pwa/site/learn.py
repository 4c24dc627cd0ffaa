"""Blueprint "learn": the explainer's topic list and its pages."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template

from . import explainer
from . import figures

bp = Blueprint("learn", __name__)


def init_app(app) -> None:
    """Load every figure and explainer page once, so a broken file fails at start-up."""
    registry = app.extensions["sources"]
    app.extensions["figures"] = explainer.load_figures(registry)
    app.extensions["explainer_pages"] = explainer.load_pages(
        app.config["DATA_DIR"] / "content", registry, app.extensions["figures"]
    )


def skin_swatches() -> dict[str, str]:
    """{Fitzpatrick type: colour}, from the scale's figure (onboarding shows them)."""
    return figures.swatches(current_app.extensions["figures"]["fitzpatrick-scale"])


def pages() -> dict[str, explainer.Page]:
    """The loaded pages, by slug, in reading order."""
    return current_app.extensions["explainer_pages"]


@bp.get("/")
def index():
    return render_template("learn/index.html", topics=pages().values())


@bp.get("/<slug>")
def page(slug: str):
    found = pages().get(slug)
    if found is None:
        abort(404)
    return render_template("learn/page.html", page=found)
