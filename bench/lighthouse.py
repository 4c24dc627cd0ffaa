"""Lighthouse scores, measured against `make run` (gunicorn, compression on) in Debian's Chromium.

Prints a table and writes bench/results/lighthouse.json.  Lighthouse 12 (pinned in
bench/package.json; `npm ci --prefix bench` installs it) runs with its defaults: the mobile
form factor, simulated throttling (a slow 4G network and a 4x slower CPU).  Each page is
measured RUNS times and every figure is the median of its runs.  Pages:
- first_visit: `/` in a fresh profile, what a new client sees (the onboarding form)
- today: `/` in a profile where a plan was onboarded first (Playwright: service worker in
  control, the onboarding form filled, the first sync done), opened with
  `--disable-storage-reset` so the plan stays; the run fails if Lighthouse saw anything
  other than Today's checklist
- explainer: `/learn/what-is-pih` in a fresh profile
Targets, per page: performance, accessibility, best-practices and SEO scores 100, LCP
<= 1.0 s; TBT and CLS are printed without a verdict.  For every category under 100 (and
for performance when LCP misses its target) the audits that failed are listed, with the
elements and URLs Lighthouse names.
Exit status: 0 when every target is met, 1 when one is missed (like the other bench
scripts) or Lighthouse is not installed, 2 when Lighthouse fails to run or the Today
profile did not show the plan.
Usage: `npm ci --prefix bench && .venv/bin/python bench/lighthouse.py`.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from helpers import CHROMIUM  # noqa: E402
from helpers import WAIT_UNTIL_CONTROLLED  # noqa: E402
from helpers import launch_profile  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from report import write_report  # noqa: E402
from support import RunningServer  # noqa: E402
from test_checklist import TIME_ZONE  # noqa: E402
from test_checklist import onboard  # noqa: E402
from test_checklist import today_here  # noqa: E402

LIGHTHOUSE = ROOT / "bench" / "node_modules" / ".bin" / "lighthouse"
RUNS = 3
RUN_TIMEOUT_S = 180
ATTEMPTS = 3
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
SCORE_TARGET = 100
LCP_TARGET_S = 1.0
# As root Chromium needs --no-sandbox; /dev/shm is small in containers.
CHROME_FLAGS = "--headless=new --no-sandbox --disable-dev-shm-usage"
# (name, path, measured in the onboarded profile)
PAGES = (
    ("first_visit", "/", False),
    ("today", "/", True),
    ("explainer", "/learn/what-is-pih", False),
)
# Lighthouse's report shows an unweighted audit as failed below this score.
PASS_THRESHOLD = 0.9
SHOWN_PER_AUDIT = 8


class LighthouseFailed(Exception):
    """Lighthouse did not produce a usable report, or measured the wrong page."""


def lighthouse(url: str, output: Path, user_data_dir: Path | None, retries: list[str]) -> dict:
    """One Lighthouse run; its report (LHR) as a dict.  A run that fails is tried again, up
    to ATTEMPTS in all (Lighthouse's own advice for its occasional NO_NAVSTART: "Please run
    Lighthouse again"); each failure is added to `retries`."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return lighthouse_once(url, output, user_data_dir)
        except LighthouseFailed as error:
            if attempt == ATTEMPTS:
                raise LighthouseFailed(f"{error}\n(failed {ATTEMPTS} times in a row)") from None
            retries.append(" ".join(str(error).split())[:300])
            time.sleep(2)


def lighthouse_once(url: str, output: Path, user_data_dir: Path | None) -> dict:
    flags = CHROME_FLAGS
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--quiet",
    ]
    if user_data_dir is not None:
        # chrome-launcher puts its own temporary --user-data-dir first; Chromium takes the
        # last one given.  Without storage reset the plan in IndexedDB and the service
        # worker stay for the run.
        flags += f" --user-data-dir={user_data_dir}"
        command.append("--disable-storage-reset")
    command.append(f"--chrome-flags={flags}")
    # TZ: the plan was onboarded in TIME_ZONE; Today works its day out in the same one.
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM), "TZ": TIME_ZONE}
    output.unlink(missing_ok=True)
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise LighthouseFailed(f"Lighthouse took over {RUN_TIMEOUT_S} s on {url}") from None
    if done.returncode != 0 or not output.exists():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise LighthouseFailed(f"Lighthouse exited with {done.returncode} on {url}:\n{tail}")
    report = json.loads(output.read_text())
    if report.get("runtimeError"):
        error = report["runtimeError"]
        raise LighthouseFailed(f"Lighthouse on {url}: {error.get('code')}: {error.get('message')}")
    missing = [name for name in CATEGORIES if report["categories"][name]["score"] is None]
    if missing:
        raise LighthouseFailed(f"Lighthouse on {url} gave no score for {', '.join(missing)}")
    return report


def onboarded_profile(base: str, folder: Path) -> str:
    """A Chromium profile in `folder` with a plan onboarded on `base`; Today's day heading."""
    with sync_playwright() as playwright:
        context = launch_profile(playwright, folder, timezone_id=TIME_ZONE)
        try:
            page = context.new_page()
            page.goto(base + "/")
            page.evaluate(WAIT_UNTIL_CONTROLLED)
            onboard(page, today_here(3))
            expect(page.locator("[data-sync-status]")).to_have_text(
                "Synced just now", timeout=15_000
            )
            return page.locator("[data-day-heading]").inner_text()
        finally:
            context.close()


def walk(value):
    """Every dict inside a report's `details`, depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# Figures shown beside an element or URL that an audit's table names.
FIGURES = (
    "score",
    "wastedMs",
    "wastedBytes",
    "totalBytes",
    "reflowTime",
    "duration",
    "navStartToEndTime",
    "blockingTime",
    "startTime",
)


def figure(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def element_text(node: dict) -> str:
    text = node.get("selector") or node.get("snippet") or ""
    label = " ".join((node.get("nodeLabel") or "").split())
    return f'{text}  "{label[:80]}"' if label and label != text else text


def named(details) -> list[str]:
    """The elements (selector and text), URLs and causes an audit's details name, each once,
    with the figures of their row (a layout shift's score, a request's wasted ms...)."""
    lines, shown_nodes = {}, set()
    for entry in walk(details):
        figures = "".join(
            f", {key} {figure(entry[key])}"
            for key in FIGURES
            if isinstance(entry.get(key), int | float) and not isinstance(entry[key], bool)
        )
        node = entry.get("node")
        if isinstance(node, dict) and node.get("type") == "node":
            shown_nodes.add(id(node))
            lines[f"element  {element_text(node)}{figures}"] = None
        elif entry.get("type") == "node" and id(entry) not in shown_nodes:
            lines[f"element  {element_text(entry)}"] = None
        url = entry.get("url")
        if isinstance(url, str) and url and entry.get("type") != "node":
            if isinstance(entry.get("line"), int):
                url += f":{entry['line'] + 1}"
            lines[f"url      {url}{figures}"] = None
        if isinstance(entry.get("cause"), str):
            lines[f"cause    {entry['cause']}"] = None
        # Rows that name neither: main-thread work by kind, an unattributed forced reflow.
        source = entry.get("source")
        if isinstance(entry.get("groupLabel"), str):
            lines[f"row      {entry['groupLabel']}{figures}"] = None
        elif isinstance(source, dict) and source.get("type") == "text":
            lines[f"source   {source.get('value')}{figures}"] = None
    return list(lines)


def lcp_element(report: dict) -> dict:
    """The LCP element and the LCP phases (TTFB, load delay, load time, render delay)."""
    details = report["audits"].get("largest-contentful-paint-element", {}).get("details") or {}
    node, phases = {}, {}
    for entry in walk(details):
        if entry.get("type") == "node" and not node:
            node = {key: entry.get(key) for key in ("selector", "path", "snippet", "nodeLabel")}
        if "phase" in entry and "timing" in entry:
            phases[entry["phase"]] = round(entry["timing"])
    if not phases:  # no network request in the LCP's own audit: the insight still splits it
        insight = report["audits"].get("lcp-breakdown-insight", {}).get("details") or {}
        for entry in walk(insight):
            if "label" in entry and isinstance(entry.get("duration"), int | float):
                phases[entry["label"]] = round(entry["duration"])
    return {**node, "phases_ms": phases}


def today_evidence(report: dict, heading: str) -> list[str]:
    """What shows the run saw Today's checklist, not the onboarding form; raise if it did not."""
    element = lcp_element(report)
    if ",FORM," in (element.get("path") or "") or "onboarding" in (element.get("snippet") or ""):
        raise LighthouseFailed(
            "Lighthouse saw the onboarding form on Today, not the plan onboarded in its "
            f"profile (LCP element {element.get('selector')!r}: {element.get('nodeLabel')!r})"
        )
    evidence = []
    for audit in report["audits"].values():
        for entry in walk(audit.get("details")):
            if entry.get("type") != "node":
                continue
            text = " ".join(str(entry.get(key) or "") for key in ("snippet", "selector"))
            label = entry.get("nodeLabel") or ""
            # Every copy of Today's HTML holds the form; with a plan it is hidden, and an
            # audit that walks the whole DOM (dom-size) may still name it.
            if 'data-onboarding=""' in text and 'hidden=""' in text:
                continue
            if 'data-onboarding=""' in text or "Start my aftercare" in label:
                raise LighthouseFailed(
                    f"Lighthouse saw the onboarding form on Today ({audit['id']}: {text})"
                )
            if heading in label:
                evidence.append(f"{audit['id']}: element with {heading!r}")
            elif "checklist" in text or "data-today" in text:
                evidence.append(f"{audit['id']}: {entry.get('selector') or entry.get('snippet')}")
    requests = report["audits"]["network-requests"].get("details", {}).get("items", [])
    evidence += [
        f"network-requests: {item['url']}"
        for item in requests
        if re.search(r"/api/plans/[^/]+/sync$", item.get("url", ""))
    ]
    if not evidence:
        raise LighthouseFailed(
            "nothing in Lighthouse's report on Today shows the onboarded plan (no checklist "
            f"element, no {heading!r}, no plan sync request)"
        )
    return sorted(set(evidence))


def failing_audits(reports: list[dict], category: str, lcp_missed: bool) -> list[dict]:
    """Audits of `category` that failed in any run: first those that lower the score, then
    (for performance) the diagnostics and insights Lighthouse flags."""
    found = {}
    for report in reports:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            score, mode = audit.get("score"), audit.get("scoreDisplayMode")
            if score is None or mode in ("informative", "manual", "notApplicable"):
                continue
            weighted = ref.get("weight", 0) > 0
            if weighted and score >= 1:
                continue
            if not weighted and (category != "performance" or score >= PASS_THRESHOLD):
                continue
            if audit["id"] not in found:
                found[audit["id"]] = {
                    "id": audit["id"],
                    "title": audit["title"],
                    "weight": ref.get("weight", 0),
                    "score": score,
                    "display_value": audit.get("displayValue", ""),
                    "failed_runs": 0,
                    "named": named(audit.get("details")),
                }
            found[audit["id"]]["failed_runs"] += 1
    audits = sorted(found.values(), key=lambda audit: (-audit["weight"], audit["score"]))
    median_score = statistics.median(100 * r["categories"][category]["score"] for r in reports)
    if median_score >= SCORE_TARGET and not (category == "performance" and lcp_missed):
        # The category's median is 100: a run that dipped is noise, not a fix to make.
        return []
    return audits


def measure_page(base: str, path: str, folder: Path, profile: Path | None, heading: str) -> dict:
    reports, retries = [], []
    for run in range(RUNS):
        try:
            output = folder / f"run-{run}.json"
            reports.append(lighthouse(base + path, output, profile, retries))
        except LighthouseFailed as error:
            raise LighthouseFailed(f"{folder.name}, run {run + 1} of {RUNS}: {error}") from None
    evidence = [today_evidence(report, heading) for report in reports] if profile else []
    figures = {
        name: [round(100 * r["categories"][name]["score"]) for r in reports] for name in CATEGORIES
    }
    figures["lcp_s"] = [
        round(r["audits"]["largest-contentful-paint"]["numericValue"] / 1000, 3) for r in reports
    ]
    figures["tbt_ms"] = [round(r["audits"]["total-blocking-time"]["numericValue"]) for r in reports]
    figures["cls"] = [
        round(r["audits"]["cumulative-layout-shift"]["numericValue"], 4) for r in reports
    ]
    medians = {name: statistics.median(values) for name, values in figures.items()}
    lcp_missed = medians["lcp_s"] > LCP_TARGET_S
    # The run whose LCP is the median one names the LCP element.
    middle = sorted(range(RUNS), key=lambda i: figures["lcp_s"][i])[RUNS // 2]
    # ... and the run whose TBT is the median one, its long main-thread tasks.
    blocking = sorted(range(RUNS), key=lambda i: figures["tbt_ms"][i])[RUNS // 2]
    long_tasks = named(reports[blocking]["audits"].get("long-tasks", {}).get("details"))
    return {
        "path": path,
        "profile": "onboarded plan, storage kept" if profile else "fresh",
        "lighthouse": reports[0]["lighthouseVersion"],
        "chromium": reports[0]["environment"]["hostUserAgent"],
        "form_factor": reports[0]["configSettings"]["formFactor"],
        "throttling": reports[0]["configSettings"]["throttlingMethod"],
        "median": medians,
        "samples": figures,
        "lcp_element": lcp_element(reports[middle]),
        "today_evidence": evidence[0] if evidence else None,
        # Lighthouse's CPU speed score for this machine (a shared one varies): it scales
        # the simulated 4x slowdown, so TBT moves with it.
        "benchmark_index": [round(r["environment"]["benchmarkIndex"]) for r in reports],
        "long_tasks": long_tasks if medians["tbt_ms"] > 0 else [],
        "warnings": sorted({w for r in reports for w in r.get("runWarnings", [])}),
        "retried_runs": retries,
        "failing_audits": {
            name: failing_audits(reports, name, lcp_missed)
            for name in CATEGORIES
            if medians[name] < SCORE_TARGET or (name == "performance" and lcp_missed)
        },
    }


def measure(folder: Path) -> tuple[dict[str, dict], str]:
    server = RunningServer(folder / "data", folder / "server.log").start()
    try:
        heading = onboarded_profile(server.url, folder / "profile")
        pages = {}
        for name, path, onboarded in PAGES:
            runs = folder / name
            runs.mkdir()
            profile = folder / "profile" if onboarded else None
            pages[name] = measure_page(server.url, path, runs, profile, heading)
    finally:
        server.stop()
    return pages, heading


def print_table(pages: dict[str, dict]) -> list[dict]:
    rows = []
    print(f"{'page':30} {'figure':15} {'median':>8}  {'runs':20} {'target':10} result")
    for name, page in pages.items():
        first = f"{name} {page['path']}"
        for key in (*CATEGORIES, "lcp_s", "tbt_ms", "cls"):
            median, samples = page["median"][key], page["samples"][key]
            if key in CATEGORIES:
                shown, runs = f"{median:g}", " ".join(f"{v}" for v in samples)
                target, ok = f"{SCORE_TARGET}", median >= SCORE_TARGET
            elif key == "lcp_s":
                shown, runs = f"{median:.2f} s", " ".join(f"{v:.2f}" for v in samples)
                target, ok = f"<= {LCP_TARGET_S:.1f} s", median <= LCP_TARGET_S
            elif key == "tbt_ms":
                shown, runs = f"{median:g} ms", " ".join(f"{v}" for v in samples)
                target, ok = "", None
            else:
                shown, runs = f"{median:.3f}", " ".join(f"{v:.3f}" for v in samples)
                target, ok = "", None
            verdict = "" if ok is None else "PASS" if ok else "FAIL"
            label = {"lcp_s": "LCP", "tbt_ms": "TBT", "cls": "CLS"}.get(key, key)
            print(f"{first:30} {label:15} {shown:>8}  {runs:20} {target:10} {verdict}")
            first = ""
            if ok is not None:
                rows.append(
                    {
                        "name": f"{name}.{key}",
                        "page": page["path"],
                        "measured": median,
                        "samples": samples,
                        "target": target,
                        "pass": ok,
                    }
                )
    return rows


def print_failures(pages: dict[str, dict]) -> None:
    for name, page in pages.items():
        if page["median"]["lcp_s"] > LCP_TARGET_S:
            element = page["lcp_element"]
            phases = ", ".join(f"{k} {v} ms" for k, v in element.get("phases_ms", {}).items())
            print(
                f"\n{name} {page['path']}: LCP {page['median']['lcp_s']:.2f} s over "
                f"{LCP_TARGET_S:.1f} s; LCP element {element.get('selector')}  "
                f'"{element.get("nodeLabel")}"' + (f"; {phases}" if phases else "")
            )
        for category, audits in page["failing_audits"].items():
            score = page["median"][category]
            print(f"\n{name} {page['path']}: {category} {score:g}")
            for audit in audits:
                role = f"weight {audit['weight']:g}" if audit["weight"] else "diagnostic"
                value = f", {audit['display_value']}" if audit["display_value"] else ""
                print(
                    f"  {audit['id']} ({role}, score {audit['score']:.2f}{value}, "
                    f"failed in {audit['failed_runs']} of {RUNS} runs): {audit['title']}"
                )
                for line in audit["named"][:SHOWN_PER_AUDIT]:
                    print(f"      {line}")
                hidden = len(audit["named"]) - SHOWN_PER_AUDIT
                if hidden > 0:
                    print(f"      ... {hidden} more in bench/results/lighthouse.json")
        if page["long_tasks"]:
            print(f"\n{name} {page['path']}: TBT {page['median']['tbt_ms']:g} ms; long tasks:")
            for line in page["long_tasks"][:SHOWN_PER_AUDIT]:
                print(f"      {line}")
        for retry in page["retried_runs"]:
            print(f"\n{name} {page['path']}: a run failed and was run again: {retry}")
        for warning in page["warnings"]:
            print(f"\n{name} {page['path']}: Lighthouse warns: {' '.join(warning.split())}")


def main() -> int:
    if not LIGHTHOUSE.exists():
        print("bench/node_modules/.bin/lighthouse is missing: run `npm ci --prefix bench` first")
        return 1
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as folder:
            pages, heading = measure(Path(folder))
    except LighthouseFailed as error:
        print(f"Lighthouse failed: {error}", file=sys.stderr)
        return 2
    rows = print_table(pages)
    print_failures(pages)
    elapsed = time.monotonic() - started
    speed = [value for page in pages.values() for value in page["benchmark_index"]]
    print(
        f"\ntoday measured with the plan on {heading!r}; Lighthouse's CPU benchmark index "
        f"{min(speed)}-{max(speed)}; took {elapsed:.0f} s"
    )
    return write_report(
        "lighthouse",
        rows,
        seconds=round(elapsed, 1),
        runs_per_page=RUNS,
        today_heading=heading,
        pages=pages,
    )


if __name__ == "__main__":
    sys.exit(main())
