"""`make bench`: every speed and size budget, measured on this machine, in one table.

Runs each benchmark script in turn (each writes its own bench/results/<name>.json
with all its samples), then reads those reports and prints one table, every row
with its target and PASS or FAIL, under a line saying which machine measured it.
The table is also written to bench/results/summary.json and, as Markdown for the
README, to bench/results/summary.md.  Exit status 1 if any budget was missed or
any script failed.

Usage: `.venv/bin/python bench/run.py` (all scripts, about 12 minutes), or
`.venv/bin/python bench/run.py --table` to rebuild the table from the last reports.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
# In the order they run: the quick size checks first, Lighthouse (the slowest) last.
SCRIPTS = ("sizes", "checklist", "sync_write", "server_load", "postgres", "lighthouse")
KB = 1024
# A row's result: rows with no verdict (a reference or a comparison) show a dash.
VERDICTS = {True: "PASS", False: "FAIL", None: "-"}


def main(argv: list[str]) -> int:
    failed_scripts = [] if "--table" in argv else run_scripts()
    rows = list(table_rows())
    machine = describe_machine()
    print_table(rows, machine)
    write_summary(rows, machine, failed_scripts)
    for name in failed_scripts:
        print(f"!!! bench/{name}.py did not finish: its rows above are from an earlier run")
    missing = [name for name in SCRIPTS if not (RESULTS / f"{name}.json").exists()]
    for name in missing:
        print(f"!!! no report from bench/{name}.py")
    passed = all(row["pass"] is not False for row in rows)
    ok = rows and passed and not failed_scripts and not missing
    return 0 if ok else 1


def run_scripts() -> list[str]:
    """Run every script; the names of those that crashed (exit status other than 0 or 1)."""
    failed = []
    for name in SCRIPTS:
        print(f"== bench/{name}.py", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(BENCH / f"{name}.py")], check=False)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
        # 1 means "a budget was missed", which the table shows; anything else is a crash.
        if done.returncode not in (0, 1):
            failed.append(name)
    return failed


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def row(area: str, budget: str, measured: str, target: str, passed: bool | None) -> dict:
    """One line of the table; `passed` None for a figure shown without a verdict."""
    return {"area": area, "budget": budget, "measured": measured, "target": target, "pass": passed}


def table_rows() -> Iterator[dict]:
    yield from size_rows(load("sizes"))
    yield from checklist_rows(load("checklist"))
    yield from server_rows(load("server_load"), load("sync_write"))
    yield from postgres_rows(load("postgres"))
    yield from lighthouse_rows(load("lighthouse"))


def size_rows(report: dict | None) -> Iterator[dict]:
    labels = {
        "today_critical_path": "Today's critical path, phone with a plan (HTML+CSS+JS, compressed)",
        "first_visit_critical_path": "Today's critical path, first visit (onboarding form)",
        "service_worker_and_workbox": "Service worker + its imports + Workbox runtime",
        "everything_precached": "Everything precached",
    }
    for entry in (report or {}).get("rows", []):
        yield row(
            "Size",
            f"{labels.get(entry['name'], entry['name'])} ({len(entry['files'])} files)",
            f"{entry['bytes'] / KB:.1f} KB",
            f"<= {entry['target'] / KB:.0f} KB",
            entry["pass"],
        )


def checklist_rows(report: dict | None) -> Iterator[dict]:
    if not report:
        return
    entries = {entry["name"]: entry for entry in report.get("rows", [])}

    def timing(numbers: dict) -> str:
        return f"median {numbers['median_ms']:.1f} ms, p95 {numbers['p95_ms']:.1f} ms"

    if tick := entries.get("tick_to_idb_commit"):
        yield row(
            "Browser",
            f"Tick -> IndexedDB commit, from the input event ({tick['n']} ticks)",
            timing(tick),
            tick["target"],
            tick["pass"],
        )
    if offline := entries.get("offline_open_to_checkboxes"):
        yield row(
            "Browser",
            f"Offline open -> checkboxes visible, server stopped ({offline['n']} reloads)",
            timing(offline),
            offline["target"],
            offline["pass"],
        )
        if steps := offline.get("breakdown"):
            yield row(
                "Browser",
                "Offline open, medians: document responseEnd / DOMContentLoaded / box visible",
                " / ".join(
                    f"{steps[step]['median_ms']:.1f}"
                    for step in ("response_end", "dom_content_loaded", "visible")
                )
                + " ms",
                "where the time goes",
                None,
            )
    if ratio := entries.get("offline_vs_online_open"):
        online = ratio["online"]
        yield row(
            "Browser",
            "Offline open vs online open with the service worker bypassed (medians)",
            f"{ratio['measured_ratio']:.2f}x (online {timing(online)})",
            ratio["target"],
            ratio["pass"],
        )
    if worker := (report.get("reference") or {}).get("online_through_worker"):
        yield row(
            "Browser",
            "Online open through the service worker, server up (the old ratio's online)",
            timing(worker),
            "reference",
            None,
        )
    old = report.get("baseline")
    if not old:
        return
    label = f"Old client {old['commit']} (same run)"
    if "error" in old:
        yield row("Browser", f"{label}: not measured", old["error"][:120], "measured beside", False)
        return
    yield row(
        "Browser",
        f"{label}: offline open -> checkboxes visible",
        timing(old["offline"]),
        "comparison",
        None,
    )
    yield row(
        "Browser",
        f"{label}: online open, worker bypassed; offline / online",
        f"{timing(old['online_bypassed'])}; {old['ratio']:.2f}x",
        "comparison",
        None,
    )
    yield row(
        "Browser",
        f"{label}: online open through the service worker",
        timing(old["online_through_worker"]),
        "comparison",
        None,
    )
    yield row(
        "Browser",
        f"{label}: tick -> IndexedDB commit",
        timing(old["tick"]),
        "comparison",
        None,
    )


def server_rows(load_report: dict | None, write_report: dict | None) -> Iterator[dict]:
    for entry in (load_report or {}).get("rows", []):
        yield row(
            "Server",
            f"Sync throughput vs a minimal Flask endpoint, gunicorn -w "
            f"{load_report['workers']}, {load_report['concurrency']} clients (ab)",
            f"{entry['measured']:.2f}x ({entry['sync_rps']:.0f} vs {entry['minimal_rps']:.0f} "
            f"req/s; sync p95 {entry['sync_p95_ms']:.0f} ms; {entry['errors']} errors)",
            f"{entry['target']}x, no errors",
            entry["pass"],
        )
    entries = (write_report or {}).get("rows", [])
    if entries:
        counts = " / ".join(f"{entry['plans']:,}" for entry in entries)
        yield row(
            "Server",
            f"Sync write p95 with {counts} plans on disk",
            " / ".join(f"{entry['p95_ms']:.1f}" for entry in entries)
            + f" ms ({sum(entry['error_count'] for entry in entries)} errors)",
            "flat: each <= 1.5x the first",
            all(entry["pass"] for entry in entries),
        )


def postgres_rows(report: dict | None) -> Iterator[dict]:
    entries = (report or {}).get("rows", [])
    for entry in entries:
        if entry["name"] != "postgres_throughput_ratio":
            continue
        files, database = entry["files"], entry["postgres"]
        yield row(
            "PostgreSQL",
            f"Sync throughput of one host on PostgreSQL vs the files, same run, "
            f"{report['concurrency']} clients (ab)",
            f"{entry['measured']:.2f}x ({database['rps']:.0f} vs {files['rps']:.0f} req/s; "
            f"p95 {database['p95_ms']:.0f} vs {files['p95_ms']:.0f} ms; "
            f"{database['errors'] + files['errors']} errors)",
            f"{entry['target']}x, no errors",
            entry["pass"],
        )
        yield row(
            "PostgreSQL",
            "CPU per sync: app / PostgreSQL (for capacity per added host; two cores here, "
            "so more hosts cannot show a speed-up)",
            f"{database['app_cpu_ms_per_sync']:.2f} / {database['db_cpu_ms_per_sync']:.2f} ms "
            f"(files: app {files['app_cpu_ms_per_sync']:.2f} ms)",
            "reported",
            True,
        )
    sizes = [entry for entry in entries if entry["name"].startswith("postgres_sync_write_")]
    if sizes:
        yield row(
            "PostgreSQL",
            "Sync write p95 with "
            + " / ".join(f"{entry['plans']:,}" for entry in sizes)
            + f" plans ({report['filler_plan']} each)",
            " / ".join(f"{entry['p95_ms']:.1f}" for entry in sizes)
            + f" ms ({sum(entry['error_count'] for entry in sizes)} errors)",
            "flat: each <= 1.5x the first",
            all(entry["pass"] for entry in sizes),
        )


def lighthouse_rows(report: dict | None) -> Iterator[dict]:
    if not report:
        return
    names = {"first_visit": "first visit", "today": "Today with a plan", "explainer": "explainer"}
    for key, page in report["pages"].items():
        median = page["median"]
        scores = [median[c] for c in ("performance", "accessibility", "best-practices", "seo")]
        yield row(
            "Lighthouse",
            f"{names.get(key, key)} ({page['path']}): performance / accessibility / "
            "best practices / SEO",
            " / ".join(str(score) for score in scores),
            "100 each",
            all(score == 100 for score in scores),
        )
        samples = ", ".join(f"{value:.2f}" for value in page["samples"]["lcp_s"])
        yield row(
            "Lighthouse",
            f"{names.get(key, key)}: LCP (TBT {median['tbt_ms']:.0f} ms, CLS {median['cls']})",
            f"{median['lcp_s']:.2f} s (runs {samples})",
            "<= 1.0 s",
            median["lcp_s"] <= 1.0,
        )


def describe_machine() -> str:
    cpu = platform.machine()
    try:
        models = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kib / 1024 / 1024:.0f} GB RAM"
    except (OSError, IndexError, ValueError):
        pass
    system = platform.platform(terse=True)
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    chromium = "Chromium not found"
    try:
        chromium = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {system}; {chromium}; "
        f"Python {platform.python_version()}"
    )


def print_table(rows: list[dict], machine: str) -> None:
    print()
    print(f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}")
    widths = (10, 78, 44, 34)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(f"{text:{width}}" for text, width in zip(cells, widths, strict=True))

    print(line(("area", "budget", "measured", "target")) + "  result")
    for entry in rows:
        cells = (entry["area"], entry["budget"], entry["measured"], entry["target"])
        print(f"{line(cells)}  {VERDICTS[entry['pass']]}")
    print()


def write_summary(rows: list[dict], machine: str, failed_scripts: list[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    summary = {
        "measured_at": measured_at,
        "machine": machine,
        "failed_scripts": failed_scripts,
        "rows": rows,
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
    lines = [
        f"Measured {measured_at[:10]} on {machine}.",
        "",
        "| | Budget | Measured | Target | |",
        "|---|---|---|---|---|",
    ]
    for entry in rows:
        verdict = {True: "PASS", False: "**FAIL**", None: ""}[entry["pass"]]
        lines.append(
            f"| {entry['area']} | {entry['budget']} | {entry['measured']} | "
            f"{entry['target'].replace('<=', '≤').replace('>=', '≥')} | {verdict} |"
        )
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n")
    print("wrote bench/results/summary.json and bench/results/summary.md")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
