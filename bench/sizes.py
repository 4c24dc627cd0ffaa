"""Transfer-size budgets, measured against `make run` (gunicorn, compression on) in real Chromium.

Prints a table and writes bench/results/sizes.json.  Budgets (compressed bytes):
- Today's critical path (HTML + CSS + JS / starts before Today shows), on a phone with a plan
  (the checklist) and on a first visit (the onboarding form), each     <= 30 KB
- service worker + the Workbox runtime it imports                  <= 20 KB
- everything precached                                             <= 250 KB
Usage: `make bench`.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from playwright.sync_api import sync_playwright  # noqa: E402
from report import write_report  # noqa: E402
from support import RunningServer  # noqa: E402
from test_checklist import onboard  # noqa: E402
from test_checklist import today_here  # noqa: E402

KB = 1024
BUDGETS = {
    "today_critical_path": 30 * KB,
    "first_visit_critical_path": 30 * KB,
    "service_worker_and_workbox": 20 * KB,
    "everything_precached": 250 * KB,
}
ACCEPT = {"Accept-Encoding": "br, gzip"}


def transfer_size(url: str) -> int:
    """Bytes of the response body as sent (urllib does not decompress)."""
    request = urllib.request.Request(url, headers=ACCEPT)
    with urllib.request.urlopen(request, timeout=10) as response:
        return len(response.read())


# Today is on screen once its onboarding form (first visit) or checklist shows.
TODAY_SHOWN = "html[data-first-visit] [data-onboarding]:not([hidden]), [data-checklist] input"
# Records, from the start of the page, when Today first shows.
WATCH_TODAY = """(() => {
  const selector = %r;
  const observer = new MutationObserver(() => {
    if (!window.__todayShownAt && document.querySelector(selector)) {
      window.__todayShownAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, {subtree: true, childList: true, attributes: true});
})();"""
STARTED_BEFORE = """shownAt => performance.getEntriesByType('resource')
  .filter((entry) => entry.startTime <= shownAt).map((entry) => entry.name)"""


def critical_path(base: str, with_plan: bool) -> tuple[int, list[str]]:
    """HTML, CSS and JS that / starts loading before Today is on screen, over the network.

    Without a plan that is a first visit, and Today is its onboarding form; with one
    (onboarded first in the same profile) it is the day's checklist.  The service
    worker is kept out, so every file comes from the server with its real transfer
    size.  What the app loads after Today shows (install help, sync, the service
    worker's registration) is not on the critical path and is left out.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, service_workers="block"
        )
        page = context.new_page()
        if with_plan:
            page.goto(base + "/")
            onboard(page, today_here(2))
            # Onboarding filled the HTTP cache: the measured load must not use it.
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.add_init_script(WATCH_TODAY % TODAY_SHOWN)
        seen = []
        page.on("requestfinished", lambda request: seen.append(request))
        page.goto(base + "/", wait_until="networkidle")
        shown_at = page.evaluate("() => window.__todayShownAt")
        early = set(page.evaluate(STARTED_BEFORE, shown_at)) | {base + "/"}
        total, names = 0, []
        for request in seen:
            wanted = request.resource_type in ("document", "stylesheet", "script")
            if wanted and request.url in early:
                total += request.sizes()["responseBodySize"]
                names.append(request.url.removeprefix(base))
        browser.close()
    return total, names


def service_worker(base: str) -> tuple[int, list[str]]:
    source = urllib.request.urlopen(base + "/sw.js", timeout=10).read().decode()
    runtime = re.search(r"importScripts\('([^']+)/workbox-sw\.js'\)", source).group(1)
    # The worker itself, every script it imports, and the Workbox modules it uses.
    imported = re.findall(r"importScripts\('([^']+)'\)", source)
    urls = ["/sw.js", *imported] + [
        f"{runtime}/workbox-{name}.prod.js"
        for name in ("core", "precaching", "routing", "strategies", "background-sync")
    ]
    return sum(transfer_size(base + url) for url in urls), urls


def precached(base: str) -> tuple[int, list[str]]:
    source = urllib.request.urlopen(base + "/sw.js", timeout=10).read().decode()
    entries = json.loads(re.search(r"precacheAndRoute\((\[.*?\]), \{", source, re.S).group(1))
    urls = [entry["url"] for entry in entries]
    return sum(transfer_size(base + url) for url in urls), urls


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        server = RunningServer(Path(folder) / "data", Path(folder) / "server.log").start()
        try:
            measured = {
                "today_critical_path": critical_path(server.url, with_plan=True),
                "first_visit_critical_path": critical_path(server.url, with_plan=False),
                "service_worker_and_workbox": service_worker(server.url),
                "everything_precached": precached(server.url),
            }
        finally:
            server.stop()
    rows = []
    print(f"{'budget':30} {'measured':>10} {'target':>10}  result  files")
    for name, (size, urls) in measured.items():
        ok = size <= BUDGETS[name]
        rows.append(
            {"name": name, "bytes": size, "target": BUDGETS[name], "pass": ok, "files": urls}
        )
        verdict = "PASS" if ok else "FAIL"
        print(
            f"{name:30} {size / KB:8.1f} KB {BUDGETS[name] / KB:7.0f} KB  {verdict:6}  {len(urls)}"
        )
    return write_report("sizes", rows)


if __name__ == "__main__":
    sys.exit(main())
