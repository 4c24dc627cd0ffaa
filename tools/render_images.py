"""Render the app's images with headless Chromium: icons from their SVG sources, and screenshots.

Pillow cannot read SVG, so Chromium rasterises it; Pillow then checks sizes
and drops the alpha channel where iOS needs an opaque icon.
Usage: `make images` (writes static/icons/*.png, static/screenshots/*.png, docs/*.png).
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from PIL import Image  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from support import RunningServer  # noqa: E402

ICONS = ROOT / "static" / "icons"
# (source SVG, output PNG, size in px, opaque)
ICON_RENDERS = [
    ("icon.svg", "icon-192.png", 192, False),
    ("icon.svg", "icon-512.png", 512, False),
    ("icon-maskable.svg", "icon-maskable-512.png", 512, True),
    # iOS fills transparent pixels with black: its icon is full-bleed and opaque.
    ("icon-maskable.svg", "apple-touch-icon.png", 180, True),
]
# (output, path, colour scheme); Today is shown onboarded, three days after a session.
SCREENSHOTS = [
    (ROOT / "static" / "screenshots" / "today-narrow.png", "/", "light"),
    (ROOT / "docs" / "screenshot-learn.png", "/learn/what-is-pih", "light"),
    (ROOT / "docs" / "screenshot-today-dark.png", "/", "dark"),
]
TICKED = ("mineral-spf", "gentle-cleanse-morning", "no-actives")


def render_icons(browser) -> None:
    for source, output, size, opaque in ICON_RENDERS:
        page = browser.new_page(viewport={"width": size, "height": size})
        svg = base64.b64encode((ICONS / source).read_bytes()).decode("ascii")
        page.set_content(
            f"<body style='margin:0'><img alt='' width='{size}' height='{size}' "
            f"src='data:image/svg+xml;base64,{svg}'></body>"
        )
        page.wait_for_load_state()
        path = ICONS / output
        page.screenshot(path=path, omit_background=True)
        page.close()
        image = Image.open(path)
        if opaque:
            image.convert("RGB").save(path, optimize=True)
        else:
            image.save(path, optimize=True)
        assert Image.open(path).size == (size, size), output
        print(path.relative_to(ROOT))


def take_screenshots(browser) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = RunningServer(Path(folder) / "data", Path(folder) / "server.log").start()
        try:
            for output, path, scheme in SCREENSHOTS:
                page = browser.new_page(
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=2,
                    color_scheme=scheme,
                )
                page.goto(server.url + path)
                if path == "/":
                    onboard(page)
                output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=output)
                Image.open(output).save(output, optimize=True)
                page.close()
                print(output.relative_to(ROOT))
        finally:
            server.stop()


def onboard(page) -> None:
    """Set up a plan three days after a session and tick a few morning items."""
    form = page.locator("[data-onboarding]")
    form.wait_for()
    last = page.evaluate(
        "() => { const d = new Date(Date.now() - 3 * 864e5); return d.toISOString().slice(0, 10); }"
    )
    form.get_by_label("At a clinic").check()
    form.get_by_label("Date of your most recent session").fill(last)
    form.get_by_role("button", name="Start my aftercare").click()
    for item in TICKED:
        page.locator(f"[data-checklist=today] [data-item-id='{item}']").check()
    # The picture shows the settled state: synced, and the first-install toast closed.
    expect(page.locator("[data-sync-status]")).to_have_text("Synced just now", timeout=20_000)
    ok = page.get_by_role("button", name="OK")
    ok.wait_for(timeout=20_000)
    ok.click()
    page.evaluate("window.scrollTo(0, document.querySelector('[data-today]').offsetTop - 8)")


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        render_icons(browser)
        take_screenshots(browser)
        browser.close()


if __name__ == "__main__":
    main()
