"""The installable shell: manifest, icons, the service worker and its precache list."""

from __future__ import annotations

import json
import math
import re

import pytest
from PIL import Image

from pwa import ROOT
from pwa import create_app
from pwa.site.explainer import load_pages

LOCK = json.loads((ROOT / "service_worker" / "package-lock.json").read_text())
WORKBOX_VERSION = LOCK["packages"]["node_modules/workbox-sw"]["version"]
CSS = (ROOT / "static" / "css" / "app.css").read_text()


def precache_list(sw_source: str) -> list[dict]:
    match = re.search(r"precacheAndRoute\((\[.*?\]), \{", sw_source, re.S)
    return json.loads(match.group(1))


def css_variable(name: str, dark: bool = False) -> str:
    block = CSS.split("@media (prefers-color-scheme: dark)")[1 if dark else 0]
    return re.search(rf"--{name}:\s*(#[0-9a-f]+);", block).group(1)


def test_service_worker_is_served_fresh_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    # Its placeholders are filled in; what the worker does is tested in the browser
    # (tests/browser/test_offline.py, test_reminders_in_browser.py), not by reading its source.
    body = response.text
    assert "__WORKBOX_PATH__" not in body and "self.__WB_MANIFEST" not in body
    runtime = f"/static/vendor/workbox-v{WORKBOX_VERSION}"
    with client.get("/sw-notifications.js") as handlers:
        assert handlers.status_code == 200 and handlers.headers["Cache-Control"] == "no-cache"
    for module in ("workbox-sw.js", "workbox-core.prod.js", "workbox-precaching.prod.js"):
        with client.get(f"{runtime}/{module}") as runtime_file:
            assert runtime_file.status_code == 200, module


def test_every_precached_url_answers_200(client):
    entries = precache_list(client.get("/sw.js").text)
    assert len(entries) == len({e["url"] for e in entries}), "no duplicates"
    for entry in entries:
        with client.get(entry["url"]) as response:
            assert response.status_code == 200, entry["url"]
        if entry["url"].startswith("/static/build/"):
            # The bundle's names carry their content hash (esbuild's [hash]): no revision.
            assert entry["revision"] is None and re.search(r"-[A-Z0-9]{8}\.js$", entry["url"])
        else:
            assert re.fullmatch(r"[0-9a-f]{16}", entry["revision"])


def test_precache_covers_every_app_page_and_no_api(client):
    urls = {e["url"] for e in precache_list(client.get("/sw.js").text)}
    pages = {"/", "/sessions/", "/learn/", "/settings/", "/offline", "/manifest.webmanifest"}
    pages |= {f"/learn/{slug}" for slug in load_pages()}
    assert pages <= urls
    assert {"/static/css/app.css", "/static/icons/icon-192.png"} <= urls
    # The page scripts' sources are not: the pages run the bundle only.
    assert not [url for url in urls if url.startswith("/static/js/")]
    # The bundled scripts the pages run, every chunk included.
    built = {
        f"/static/{path.relative_to(ROOT / 'static')}"
        for path in (ROOT / "static" / "build").rglob("*.js")
        if path.parent.name != "inline"  # Today's first-paint script is inside its page
    }
    assert not [url for url in urls if "/inline/" in url]
    assert built and built <= urls
    assert not [url for url in urls if url.startswith("/api")]


def test_precache_is_deterministic_and_follows_content(data_dir, tmp_path):
    first = create_app({"DATA_DIR": data_dir}).test_client().get("/sw.js").text
    again = create_app({"DATA_DIR": data_dir}).test_client().get("/sw.js").text
    assert first == again, "precached pages carry no per-request data"

    content = data_dir / "content"
    content.mkdir()
    (content / "side-effects.md").write_text(
        '+++\ntitle = "Side effects"\nsummary = "Ours."\norder = 4\nreviewed = 2026-11-01\n'
        '[[sources]]\nname = "Clinic protocol"\n+++\nOur text.\n'
    )
    changed = create_app({"DATA_DIR": data_dir}).test_client().get("/sw.js").text
    before = {e["url"]: e["revision"] for e in precache_list(first)}
    after = {e["url"]: e["revision"] for e in precache_list(changed)}
    # The page itself, and the two topic lists that show its summary.
    changed_urls = {url for url in before if before[url] != after[url]}
    assert changed_urls == {"/learn/side-effects", "/", "/learn/"}


def test_service_worker_answers_304_when_unchanged(client):
    first = client.get("/sw.js")
    again = client.get("/sw.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_manifest_is_complete_and_served_with_its_type(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["id"] == "/" and manifest["scope"] == "/"
    assert manifest["start_url"] == "/?source=pwa"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == css_variable("bg")
    assert manifest["background_color"] == css_variable("bg")
    assert {s["url"] for s in manifest["shortcuts"]} == {"/", "/sessions/", "/learn/"}


def test_clinic_name_reaches_the_manifest(data_dir):
    app = create_app({"DATA_DIR": data_dir, "CLINIC_NAME": "Harbour Skin Clinic"})
    manifest = app.test_client().get("/manifest.webmanifest").get_json(force=True)
    assert manifest["name"] == "Aftercare · Harbour Skin Clinic"


def _image_for(url: str) -> Image.Image:
    """The image behind a /static/ URL, fully loaded (and its file closed)."""
    assert url.startswith("/static/")
    with Image.open(ROOT / "static" / url.removeprefix("/static/")) as image:
        image.load()
        return image.copy() if image.mode != "P" else image.convert("RGBA")


def test_every_manifest_image_exists_with_its_declared_size(client):
    manifest = client.get("/manifest.webmanifest").get_json(force=True)
    images = manifest["icons"] + manifest["screenshots"]
    images += [icon for shortcut in manifest["shortcuts"] for icon in shortcut["icons"]]
    for image in images:
        width, height = map(int, image["sizes"].split("x"))
        assert _image_for(image["src"]).size == (width, height), image["src"]


def test_maskable_icon_keeps_its_artwork_in_the_safe_zone(client):
    manifest = client.get("/manifest.webmanifest").get_json(force=True)
    (maskable,) = [i for i in manifest["icons"] if i["purpose"] == "maskable"]
    image = _image_for(maskable["src"]).convert("RGB")
    size = image.width
    background = image.getpixel((0, 0))
    for x in range(0, size, 4):
        for y in range(0, size, 4):
            if image.getpixel((x, y)) != background:
                distance = math.dist((x, y), (size / 2, size / 2))
                assert distance <= 0.4 * size, (x, y)


def test_apple_touch_icon_is_opaque_180(client):
    html = client.get("/").text
    href = re.search(r'<link rel="apple-touch-icon" href="([^"]+)"', html).group(1)
    image = _image_for(href)
    assert image.size == (180, 180)
    assert image.mode == "RGB"


@pytest.mark.parametrize("url", ["/", "/learn/what-is-pih", "/offline"])
def test_pages_link_the_manifest_and_ios_meta(client, url):
    html = client.get(url).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="apple-mobile-web-app-capable" content="yes">' in html
    assert '<meta name="mobile-web-app-capable" content="yes">' in html
    light = f'<meta name="theme-color" content="{css_variable("bg")}"'
    dark = f'<meta name="theme-color" content="{css_variable("bg", dark=True)}"'
    assert light in html and dark in html


def test_service_worker_source_stays_a_short_composition():
    source = (ROOT / "service_worker" / "sw.js").read_text()
    assert len(source.splitlines()) <= 100
    assert "addEventListener('fetch'" not in source, "routing is Workbox's job"


def test_page_modules_import_the_pinned_idb_version():
    version = LOCK["packages"]["node_modules/idb"]["version"]
    store = (ROOT / "static" / "js" / "lib" / "database.js").read_text()
    assert f"from '../../vendor/idb-v{version}/index.js'" in store
    assert (ROOT / "static" / "vendor" / f"idb-v{version}" / "index.js").exists()
