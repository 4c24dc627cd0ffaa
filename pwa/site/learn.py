"""Blueprint "learn": the explainer's topic list and its pages."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template

from . import explainer

bp = Blueprint("learn", __name__)


def init_app(app) -> None:
    """Load every explainer page once, so a broken clinic file fails at start-up."""
    app.extensions["explainer_pages"] = explainer.load_pages(
        app.config["DATA_DIR"] / "content", app.extensions["sources"]
    )


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
