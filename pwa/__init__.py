"""Aftercare PWA: the application factory.

`create_app` is the only thing this module offers.  It builds a fresh Flask
app from the configuration chain (defaults, the data folder's config file,
`PWA_*` environment variables, then `test_config`) and registers one
blueprint per user-facing area.  Nothing happens at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# The design card keeps templates/ and static/ at the top level, beside the
# package, so the service-worker build can glob static/ without reaching into
# pwa/.  Flask looks inside the package by default; these paths say otherwise.
ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the Flask application."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )

    from .core import config

    config.load(app, test_config)
    # Bigger bodies than any honest sync batch are refused before parsing.
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = 512 * 1024

    from . import storage
    from .care import sources
    from .clinic import console
    from .clinic import console_account
    from .clinic import console_auth
    from .core import cli
    from .core import compression
    from .core import errors
    from .core import headers
    from .core import rate_limits
    from .core import templating
    from .shell import app_shell
    from .site import learn
    from .site import sessions
    from .site import settings
    from .site import today
    from .sync import api

    # One registry of sources, read before the pages and protocols that cite it.
    app.extensions["sources"] = sources.load_registry(app.config["DATA_DIR"] / "sources.toml")
    learn.init_app(app)
    today.init_app(app)
    app.extensions["plans"] = storage.plan_store(app.config)
    app_shell.init_app(app)
    console_auth.init_app(app)
    app.register_blueprint(today.bp)
    app.register_blueprint(sessions.bp, url_prefix="/sessions")
    app.register_blueprint(learn.bp, url_prefix="/learn")
    app.register_blueprint(settings.bp, url_prefix="/settings")
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(console.bp, url_prefix="/console")
    app.register_blueprint(console_account.bp, url_prefix="/console")
    app.register_blueprint(app_shell.bp)
    rate_limits.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    templating.init_app(app)
    compression.init_app(app)
    cli.init_app(app)
    return app
