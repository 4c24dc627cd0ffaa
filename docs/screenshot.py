"""Take the README's phone screenshots with headless Chromium against a real `make run`.

Usage: `make screenshots` (writes docs/*.png).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402
from support import RunningServer  # noqa: E402

SHOTS = {
    "screenshot-learn.png": ("/learn/what-is-pih", "light"),
    "screenshot-today-dark.png": ("/", "dark"),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = RunningServer(Path(folder) / "data", Path(folder) / "server.log").start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
                for name, (path, scheme) in SHOTS.items():
                    page = browser.new_page(
                        viewport={"width": 390, "height": 844},
                        device_scale_factor=2,
                        color_scheme=scheme,
                    )
                    page.goto(server.url + path)
                    page.screenshot(path=ROOT / "docs" / name)
                    print(f"docs/{name}")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
