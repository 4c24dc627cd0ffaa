"""The service worker's precache list: every URL the app needs offline, with a content revision.

This is the project's equivalent of Workbox's `injectManifest`: Python hashes
the static files and the *rendered* app pages, so a change to a template, a
clinic content file or the configuration changes a revision, which changes
the bytes of /sw.js, which makes the browser install the new worker.  Pages
listed here must render identically for everyone (no dates, tokens or
personal data) or every request would look like an update.  No Flask here:
the caller passes a function that renders a URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path

# Static files every page needs offline, relative to static/.  Large files the
# browser fetches only at install time (512 px icons, store screenshots) are
# left out to keep the download small, and so are the page scripts' sources
# (static/js/) and idb (vendor/idb-v*): the pages run only their bundle (build/).
STATIC_PATTERNS = (
    "css/*.css",
    "build/**/*.js",
    "icons/icon.svg",
    "icons/icon-192.png",
)


# esbuild's output (Makefile BUILD_DIR): every file name ends in a hash of its content.
HASHED_PREFIX = "build/"
INLINE_DIR = "inline"


class PrecacheError(RuntimeError):
    """A URL meant for the precache did not render: it would break every install."""


def revision(content: bytes) -> str:
    """Short content hash; it only has to change when the content does."""
    return hashlib.sha256(content).hexdigest()[:16]


def static_files(static_dir: Path, extra: Iterable[str] = ()) -> list[str]:
    """Paths under static/ to precache, sorted so the list is stable."""
    found = {p for pattern in STATIC_PATTERNS for p in static_dir.glob(pattern) if p.is_file()}
    # Today's first-paint script travels inside Today's page (app_shell.FIRST_PAINT_SCRIPT).
    found = {p for p in found if p.parent.name != INLINE_DIR}
    found.update(static_dir / name for name in extra)
    return sorted(str(p.relative_to(static_dir)) for p in found)


def build_manifest(
    page_urls: Iterable[str],
    static_dir: Path,
    static_url: Callable[[str], str],
    render: Callable[[str], tuple[int, bytes]],
    extra_static: Iterable[str] = (),
) -> list[dict[str, str]]:
    """[{url, revision}] for every page and static file the app needs offline."""
    entries = []
    for url in page_urls:
        status, body = render(url)
        if status != 200:
            raise PrecacheError(f"{url} answered {status}; a precached URL must answer 200")
        entries.append({"url": url, "revision": revision(body)})
    for name in static_files(static_dir, extra_static):
        content = (static_dir / name).read_bytes()
        # A bundled script's name carries its content hash: kept under its own URL (no
        # revision), which the worker's static route for them finds in the cache.
        hashed = name.startswith(HASHED_PREFIX)
        entries.append({"url": static_url(name), "revision": None if hashed else revision(content)})
    return entries
