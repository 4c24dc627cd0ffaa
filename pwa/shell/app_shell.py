"""Blueprint "shell": what makes the site an installable, offline app.

/manifest.webmanifest, /sw.js (the Workbox service worker with the precache
list injected), /sw-notifications.js (its push handlers) and /offline.  The
Workbox runtime is served from static/vendor/workbox-vX.Y.Z/, copied there by
`make setup` from the pinned npm packages, so its URL changes with its version.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for

from .. import ROOT
from ..core.config import ConfigError
from ..site.learn import pages
from . import branding
from . import precache
from . import web_manifest

bp = Blueprint("shell", __name__)

SERVICE_WORKER_SOURCE = ROOT / "service_worker" / "sw.js"
NOTIFICATIONS_SOURCE = ROOT / "service_worker" / "notifications.js"
VENDOR_DIR = ROOT / "static" / "vendor"
SHORTCUT_ENDPOINTS = [endpoint for _, endpoint in web_manifest.SHORTCUTS]


def init_app(app: Flask) -> None:
    """Find the Workbox copy `make setup` made; without it the app cannot work offline."""
    copies = sorted(VENDOR_DIR.glob("workbox-v*/workbox-sw.js"))
    if not copies:
        raise ConfigError(f"no Workbox runtime in {VENDOR_DIR}: run `make setup` first")
    app.config["WORKBOX_DIR"] = copies[-1].parent.name
    app.extensions["precache_manifest"] = None
    bundle()  # no page scripts built: say so at start, not on the first page


def workbox_url(filename: str) -> str:
    """URL of one Workbox file under its versioned folder."""
    return url_for("static", filename=f"vendor/{current_app.config['WORKBOX_DIR']}/{filename}")


# The page scripts as esbuild bundled them (`make setup`, Makefile BUILD_META): Today's
# entry (its boot script starts it), every other page's, and the chunks each imports at
# once, which are preloaded side by side rather than discovered one import after another.
BUILD_DIR = ROOT / "static" / "build"
BUILD_META = BUILD_DIR / "meta.json"
TODAY_SOURCE = "static/js/today-app.js"
PAGES_SOURCE = "static/js/app.js"


@functools.cache
def bundle() -> dict[str, list[str]]:
    """{entry source: [its output, then the chunks it imports statically]}, as static/ paths."""
    try:
        outputs = json.loads(BUILD_META.read_text())["outputs"]
    except FileNotFoundError:
        raise ConfigError(f"no page scripts in {BUILD_DIR}: run `make setup` first") from None
    static = len("static/")

    def with_imports(output: str) -> list[str]:
        found = [output]
        for imported in outputs[output]["imports"]:
            if imported["kind"] == "import-statement" and imported["path"] not in found:
                found += [p for p in with_imports(imported["path"]) if p not in found]
        return found

    entries = {o["entryPoint"]: name for name, o in outputs.items() if "entryPoint" in o}
    return {
        source: [path[static:] for path in with_imports(entries[source])]
        for source in (TODAY_SOURCE, PAGES_SOURCE)
    }


# Inline in the pages, byte for byte as in these files, each allowed by its hash in the
# CSP (headers.py).  The stylesheet is inline because a render-blocking request of its
# own cost a first visit about 0.1 s of LCP on a slow phone network; Today's boot script
# (in <head>) and its first-paint script (built by esbuild from
# static/js/today-first-paint.js, at the end of Today's markup) must run before the
# first paint.
STYLESHEET = ROOT / "static" / "css" / "app.css"
BOOT_SCRIPT = ROOT / "templates" / "today" / "boot.js"
FIRST_PAINT_SCRIPT = BUILD_DIR / "inline" / "today-first-paint.js"
INLINE_SCRIPTS = (BOOT_SCRIPT, FIRST_PAINT_SCRIPT)


@functools.cache
def inline_text(path: Path) -> str:
    """The file's text, exactly as a page carries it inline."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: run `make setup` first") from None
    if "</script" in text.lower():
        raise ConfigError(f"{path} would end its <script> element early")
    return text


def csp_hash(path: Path) -> str:
    """The CSP source that allows exactly that inline text: 'sha256-<base64>'."""
    digest = hashlib.sha256(inline_text(path).encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def today_entry() -> str:
    return url_for("static", filename=bundle()[TODAY_SOURCE][0])


def pages_entry() -> str:
    return url_for("static", filename=bundle()[PAGES_SOURCE][0])


def module_urls() -> list[str]:
    """URLs for <link rel=modulepreload>: Today's entry and the chunks it imports at once."""
    return [url_for("static", filename=name) for name in bundle()[TODAY_SOURCE]]


def has_brand_colours() -> bool:
    """Whether the clinic set its own colours (served as /brand.css)."""
    return bool(current_app.config["ACCENT_COLOR"] or current_app.config["ACCENT_COLOR_DARK"])


def precached_pages() -> list[str]:
    """Every app route, so each opens offline even if the user never visited it."""
    urls = [url_for(endpoint) for endpoint in SHORTCUT_ENDPOINTS] + [url_for("settings.index")]
    urls += [url_for("learn.page", slug=slug) for slug in pages()]
    urls += [url_for("shell.offline"), url_for("shell.manifest"), url_for("today.schedule")]
    if has_brand_colours():
        urls.append(url_for("shell.brand_stylesheet"))
    if current_app.config["LOGO_PATH"] is not None:
        urls.append(url_for("shell.brand_logo"))
    return urls


def precache_manifest() -> list[dict[str, str]]:
    """Computed once per process: content only changes with a deploy (and a restart)."""
    if current_app.extensions["precache_manifest"] is None:
        client = current_app.test_client()

        def render(url: str) -> tuple[int, bytes]:
            with client.get(url) as response:
                return response.status_code, response.get_data()

        current_app.extensions["precache_manifest"] = precache.build_manifest(
            precached_pages(),
            Path(current_app.static_folder),
            lambda name: url_for("static", filename=name),
            render,
            extra_static=[f"vendor/{current_app.config['WORKBOX_DIR']}/workbox-window.prod.mjs"],
        )
    return current_app.extensions["precache_manifest"]


@bp.get("/sw.js")
def service_worker():
    source = SERVICE_WORKER_SOURCE.read_text(encoding="utf-8")
    body = source.replace("self.__WB_MANIFEST", json.dumps(precache_manifest())).replace(
        "__WORKBOX_PATH__", workbox_url("").rstrip("/")
    )
    return _worker_script(body)


@bp.get("/sw-notifications.js")
def service_worker_notifications():
    return _worker_script(NOTIFICATIONS_SOURCE.read_text(encoding="utf-8"))


def _worker_script(body: str):
    response = current_app.response_class(body, mimetype="text/javascript")
    # The browser must always ask for a new worker (and compare what it imports);
    # stale copies strand users.
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/brand.css")
def brand_stylesheet():
    config = current_app.config
    css = branding.stylesheet(config["ACCENT_COLOR"], config["ACCENT_COLOR_DARK"])
    response = current_app.response_class(css, mimetype="text/css")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/brand/logo")
def brand_logo():
    path = current_app.config["LOGO_PATH"]
    if path is None:
        abort(404)
    response = send_file(path, mimetype=branding.LOGO_TYPES[path.suffix.lower()])
    # An SVG opened on its own must not run anything on this origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    data = web_manifest.build(
        current_app.config["APP_NAME"],
        current_app.config["CLINIC_NAME"],
        theme_color=current_app.config["ACCENT_COLOR"] or web_manifest.THEME_LIGHT,
        static_url=lambda name: url_for("static", filename=name),
        page_url=url_for,
    )
    response = current_app.response_class(
        json.dumps(data, indent=2), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    return render_template("shell/offline.html")
