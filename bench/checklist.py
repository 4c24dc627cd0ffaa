"""Checklist speed budgets, measured in real Chromium against `make run` (gunicorn, 2 workers),
beside the old client measured the same way in the same run.

The old client is commit 66c185f (bench/baseline.py: the last commit before issue 17's client
work, Today's critical path as 13 ES modules and no bundle), built in bench/.baseline/ and
served by its own code.  Each client gets its own server, data folder and browser profile and
goes through the same steps: onboard a plan and tick (one client after the other); stop the
servers (a real outage: nothing listens on the port) and reload 15 times; start them again
and reload 15 times through the service worker, then 15 times with it bypassed.  The reloads
take turns, one client's then the other's, so a busy spell of the machine falls on both
alike, and each waits for its page's network to go quiet before the next one starts (each
phase begins with one unmeasured reload).  The load average at the start is reported too.

Budgets, for this checkout's code (the old client's figures are printed beside them as the
comparison, with no verdict):
- tick -> IndexedDB commit: from the checkbox's `input` event (its timeStamp) to the
  `complete` of the readwrite transaction that puts the tick in the outbox,
  over 40 ticks: p95 <= 16 ms (within one frame at 60 Hz)
- offline open: server stopped, service worker in control, a plan onboarded; navigation
  start -> first checkbox of Today on screen (the first animation frame after it is in the
  DOM and not hidden), over 15 reloads: median <= 50 ms (p95 reported)
- offline open vs online open: offline median <= 0.7 x online median, measured in the same
  run.  "Online open" here is the same 15 reloads with the server back up and the service
  worker BYPASSED (CDP `Network.setBypassServiceWorker` {bypass: true} on the page's CDP
  session): the page and its files come from the server (and the HTTP cache) as a plain
  website's would, with the same IndexedDB and localStorage data, so the plan is there and
  Today still shows its checkboxes (checked: the page is not controlled, and the checkbox
  probe must fire).  The ratio is what the service worker and the precache buy.
Reported without a verdict:
- online open through the service worker: the server up, the worker in control (the page
  still comes from the precache); the "online" of earlier runs, kept as a reference.
- what the figures are made of: input -> the tick's put into the outbox (made once the
  transaction's reads have answered); for every open, navigation start -> the document's
  responseStart and responseEnd (from the service worker or the server), -> DOMContentLoaded
  (every module script loaded and run), -> the checkbox in the DOM and visible (the painted
  frame is the open itself).
Nothing in either app is changed: the probes are init scripts that wrap IndexedDB and watch
the DOM from outside.
Usage: `.venv/bin/python bench/checklist.py` (both clients, about 2 minutes; the first run
also builds the old one), or `--no-baseline` for this checkout's code alone.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import baseline  # noqa: E402
from helpers import CHROMIUM  # noqa: E402
from helpers import CHROMIUM_ARGS  # noqa: E402
from helpers import WAIT_UNTIL_CONTROLLED  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from report import write_report  # noqa: E402
from support import RunningServer  # noqa: E402
from test_checklist import TIME_ZONE  # noqa: E402
from test_checklist import onboard  # noqa: E402
from test_checklist import today_here  # noqa: E402

TICKS = 40
RELOADS = 15
# Pause between taps, about a person's pace: the sync each tick starts runs meanwhile.
TAP_GAP_S = 0.25
TICK_P95_MS = 16.0
OFFLINE_MEDIAN_MS = 50.0
OFFLINE_OVER_ONLINE = 0.7
BOXES = "[data-checklist=today] input[type=checkbox]"

# Installed before any page script on every navigation.  `inputs`: each checkbox `input`
# event's timeStamp (the same clock as performance.now()) and item.  `commits`: for each
# readwrite transaction that put a tick in the outbox (recordTick does; a sync's
# applySync only deletes from it), its item, when the put was made (after the
# transaction's reads answered) and when it completed.  `visible`/`frame`: when the
# first Today checkbox was in the DOM with no hidden ancestor, and the animation frame
# after that (the frame that paints it).
PROBES = """(() => {
  const probe = (window.__bench = {inputs: [], commits: [], visible: null, frame: null});
  document.addEventListener('input', (event) => {
    const box = event.target;
    if (box instanceof HTMLInputElement && box.type === 'checkbox' && box.dataset.itemId) {
      probe.inputs.push({at: event.timeStamp, item: box.dataset.itemId});
    }
  }, true);

  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (names, mode, ...rest) {
    const tx = transaction.call(this, names, mode, ...rest);
    const stores = typeof names === 'string' ? [names] : Array.from(names);
    if (mode === 'readwrite' && stores.includes('outbox')) {
      tx.addEventListener('complete', () => {
        if (tx.__benchPut) probe.commits.push({...tx.__benchPut, done: performance.now()});
      });
    }
    return tx;
  };
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, ...rest) {
    if (this.name === 'outbox') {
      this.transaction.__benchPut = {put: performance.now(), item: value && value.item};
    }
    return put.call(this, value, ...rest);
  };

  const SELECTOR = "__BOXES__";
  const look = () => {
    if (probe.visible !== null) return;
    const box = document.querySelector(SELECTOR);
    if (!box || box.closest('[hidden]') || !box.checkVisibility()) return;
    probe.visible = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => { probe.frame = performance.now(); });
  };
  const observer = new MutationObserver(look);
  observer.observe(document, {
    childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'],
  });
})();""".replace("__BOXES__", BOXES)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "max_ms": round(max(values), 2),
        "samples_ms": [round(value, 2) for value in values],
    }


def tick_latencies(page) -> dict[str, list[float]]:
    """Toggle TICKS checkboxes one by one, a tap every TAP_GAP_S.  For each: input event ->
    outbox transaction complete, and input event -> its put (the wait for its reads), in ms."""
    boxes = page.locator(BOXES)
    count = boxes.count()
    page.evaluate("() => { window.__bench.inputs = []; window.__bench.commits = []; }")
    for index in range(TICKS):
        boxes.nth(index % count).click()
        try:
            page.wait_for_function(
                "n => window.__bench.commits.length >= n", arg=index + 1, timeout=5_000
            )
        except PlaywrightTimeout:
            probe = page.evaluate("() => window.__bench")
            raise RuntimeError(
                f"tick {index + 1} was not committed within 5 s: inputs {probe['inputs']}, "
                f"commits {probe['commits']}"
            ) from None
        time.sleep(TAP_GAP_S)
    probe = page.evaluate("() => window.__bench")
    inputs, commits = probe["inputs"], probe["commits"]
    if [i["item"] for i in inputs] != [c["item"] for c in commits]:
        raise RuntimeError(f"inputs and commits do not pair up: {inputs} / {commits}")
    return {
        "commit": [c["done"] - i["at"] for i, c in zip(inputs, commits, strict=True)],
        "reads": [c["put"] - i["at"] for i, c in zip(inputs, commits, strict=True)],
    }


# Read after each reload: when the painted checkbox came (`open`), and on the way there.
OPEN_FIGURES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    open: window.__bench.frame,
    response_start: nav.responseStart,
    response_end: nav.responseEnd,
    dom_content_loaded: nav.domContentLoadedEventEnd,
    visible: window.__bench.visible,
    controlled: navigator.serviceWorker.controller !== null,
  };
}"""
# The parts of an open, in the order they happen, as the tables name them.
STEPS = {
    "response_start": "document responseStart",
    "response_end": "document responseEnd",
    "dom_content_loaded": "DOMContentLoaded",
    "visible": "checkbox visible",
}


def open_once(page, label: str, controlled: bool) -> dict[str, float]:
    """Reload Today once; in ms from navigation start, the first checkbox painted (`open`)
    and each of STEPS."""
    page.reload()
    try:
        page.wait_for_function("() => window.__bench.frame !== null", timeout=15_000)
    except PlaywrightTimeout:
        raise RuntimeError(f"{label}: no checkbox of Today within 15 s of a reload") from None
    page.wait_for_load_state("domcontentloaded")
    figures = page.evaluate(OPEN_FIGURES)
    if figures.pop("controlled") != controlled:
        state = "not controlled" if controlled else "still controlled"
        raise RuntimeError(f"{label}: the page was {state} by the service worker")
    # What the page does after first paint (later chunks, a sync attempt) finishes here, so
    # it does not run beside the other client's next reload.
    page.wait_for_load_state("networkidle")
    return figures


class Client:
    """One client under measurement: its server, its browser profile and page, its samples,
    or what stopped it (`error`, for the old client; this code's failures are raised)."""

    def __init__(self, label: str, folder: Path, server: RunningServer, required: bool):
        self.label, self.folder, self.server, self.required = label, folder, server, required
        self.samples: dict = {kind: {"open": [], **{step: [] for step in STEPS}} for kind in OPENS}
        self.error: str | None = None
        self.context = self.page = None

    def attempt(self, step, *args) -> None:
        """Run one step on this client; a failure of the old client is noted, not raised."""
        if self.error:
            return
        try:
            step(self, *args)
        except (RuntimeError, PlaywrightError, OSError) as error:
            if self.required:
                raise
            traceback.print_exc()
            self.error = f"{type(error).__name__}: {error}".splitlines()[0]
            print(f"!!! {self.label}: {self.error}", flush=True)

    def set_up(self, playwright) -> None:
        """Start its server, onboard a plan in a fresh profile, tick TICKS times."""
        print(f"onboarding and ticking: {self.label}", flush=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.server.start()
        self.context = playwright.chromium.launch_persistent_context(
            str(self.folder / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 390, "height": 844},
            timezone_id=TIME_ZONE,
        )
        self.context.add_init_script(PROBES)
        page = self.page = self.context.new_page()
        page.goto(self.server.url + "/")
        page.evaluate(WAIT_UNTIL_CONTROLLED)
        onboard(page, today_here(3))
        expect(page.locator("[data-sync-status]")).to_have_text("Synced just now", timeout=15_000)
        ticks = tick_latencies(page)
        self.samples["tick"], self.samples["tick_reads"] = ticks["commit"], ticks["reads"]

    def stop_server(self) -> None:
        self.server.stop()  # a real outage: nothing listens on the port

    def start_server(self) -> None:
        self.server.start()  # same port: the server keeps it

    def bypass_worker(self) -> None:
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.setBypassServiceWorker", {"bypass": True})

    def reload(self, kind: str, keep: bool) -> None:
        figures = open_once(self.page, f"{self.label}, {kind}", kind != "online_bypassed")
        if keep:
            for name, value in figures.items():
                self.samples[kind][name].append(value)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.server.stop()


def measure(clients: list[Client]) -> None:
    """Every client through the same steps.  The reloads take turns, one client then the
    other, so a slower spell of the machine falls on both alike."""
    with sync_playwright() as playwright:
        try:
            for client in clients:
                client.attempt(Client.set_up, playwright)
            phases = {
                "offline": Client.stop_server,
                "online_through_worker": Client.start_server,
                "online_bypassed": Client.bypass_worker,
            }
            for kind, change in phases.items():
                print(f"{RELOADS} reloads each: {kind}", flush=True)
                for client in clients:
                    client.attempt(change)
                for attempt in range(RELOADS + 1):  # the first one is not measured
                    for client in clients:
                        client.attempt(Client.reload, kind, attempt > 0)
        finally:
            for client in clients:
                client.close()


OPENS = ("offline", "online_bypassed", "online_through_worker")


def open_summary(measured: dict[str, list[float]]) -> dict:
    return {
        **summary(measured["open"]),
        "breakdown": {step: summary(measured[step]) for step in STEPS},
    }


def client_figures(samples: dict) -> dict:
    """One client's summaries: ticks, the three kinds of open, and the budget ratio."""
    figures = {
        "tick": summary(samples["tick"]),
        "tick_reads": summary(samples["tick_reads"]),
        **{kind: open_summary(samples[kind]) for kind in OPENS},
    }
    figures["ratio"] = round(
        figures["offline"]["median_ms"] / figures["online_bypassed"]["median_ms"], 3
    )
    return figures


def describe_code() -> dict:
    """This checkout: HEAD, and how many of the app's files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    app = ("static", "templates", "pwa", "service_worker", "gunicorn.conf.py")
    changed = git("status", "--porcelain", "--", *app).splitlines()
    return {"commit": git("rev-parse", "--short=7", "HEAD"), "uncommitted_files": len(changed)}


def baseline_client(folder: Path) -> tuple[Client | None, dict]:
    """The old client, built if needed, and what is known of it (or why it cannot run)."""
    described = {"commit": baseline.COMMIT}
    try:
        baseline.prepare()
        described = baseline.describe()
    except baseline.BaselineError as error:
        return None, {**described, "error": str(error)}
    server = baseline.BaselineServer(folder / "data", folder / "server.log", WORKERS="2")
    label = f"the old client ({baseline.COMMIT})"
    return Client(label, folder, server, required=False), described


def main(argv: list[str]) -> int:
    started = time.monotonic()
    code = describe_code()
    # Other work on this machine slows both clients: the load says how quiet it was.
    load = [round(value, 2) for value in os.getloadavg()]
    with tempfile.TemporaryDirectory() as folder:
        here = Path(folder) / "current"
        server = RunningServer(here / "data", here / "current.log", WORKERS="2")
        current = Client(f"this checkout ({code['commit']})", here, server, required=True)
        clients, old = [current], None
        if "--no-baseline" not in argv:
            other, old = baseline_client(Path(folder) / "baseline")
            clients += [other] if other else []
        measure(clients)
    mine = client_figures(current.samples)
    if old is not None and "error" not in old:
        other = clients[1]
        old = (
            {**old, "error": other.error}
            if other.error
            else {**old, **client_figures(other.samples)}
        )
    rows = [
        {
            "name": "tick_to_idb_commit",
            "measured_ms": mine["tick"]["p95_ms"],
            "target": f"p95 <= {TICK_P95_MS:g} ms",
            "pass": mine["tick"]["p95_ms"] <= TICK_P95_MS,
            **mine["tick"],
            "input_to_put": mine["tick_reads"],
        },
        {
            "name": "offline_open_to_checkboxes",
            "measured_ms": mine["offline"]["median_ms"],
            "target": f"median <= {OFFLINE_MEDIAN_MS:g} ms",
            "pass": mine["offline"]["median_ms"] <= OFFLINE_MEDIAN_MS,
            **mine["offline"],
        },
        {
            "name": "offline_vs_online_open",
            "measured_ratio": mine["ratio"],
            "target": f"median <= {OFFLINE_OVER_ONLINE:g} x online (bypassed)",
            "pass": mine["ratio"] <= OFFLINE_OVER_ONLINE,
            "online": mine["online_bypassed"],
        },
    ]
    print_table(rows, mine, old, code)
    elapsed = time.monotonic() - started
    print(f"took {elapsed:.0f} s; load average at the start {load[0]} (1 min), {load[1]} (5 min)")
    status = write_report(
        "checklist",
        rows,
        seconds=round(elapsed, 1),
        load_average_at_start=load,
        code=code,
        reference={"online_through_worker": mine["online_through_worker"]},
        baseline=old,
    )
    if old and "error" in old:
        print(f"!!! the old client ({old['commit']}) was not measured: {old['error']}")
        return 1
    return status


def print_table(rows: list[dict], current: dict, old: dict | None, code: dict) -> None:
    """This code's figures, and the old client's beside them (no verdict on those)."""
    old = old if old and "error" not in old else None
    changed = f" + {code['uncommitted_files']} changed files" if code["uncommitted_files"] else ""
    print()
    print(
        f"this code: {code['commit']}{changed}; old client: "
        + (f"{old['commit']}, same run, no verdict" if old else "not measured")
    )
    print(f"{'':38} {'this code':>19}   {'old client':>19}")
    print(
        f"{'budget':34} {'n':>3} {'median':>9} {'p95':>9}   {'median':>9} {'p95':>9}   "
        f"{'target':32} result"
    )

    def pair(numbers: dict | None) -> str:
        if numbers is None:
            return f"{'-':>19}"
        return f"{numbers['median_ms']:6.1f} ms {numbers['p95_ms']:6.1f} ms"

    def line(name: str, key: str, step: str | None, target: str = "", ok: bool | None = None):
        mine = current[key] if step is None else current[key]["breakdown"][step]
        theirs = None
        if old is not None:
            theirs = old[key] if step is None else old[key]["breakdown"][step]
        verdict = "" if ok is None else "PASS" if ok else "FAIL"
        print(f"{name:34} {mine['n']:3} {pair(mine)}   {pair(theirs)}   {target:32} {verdict}")

    tick, offline, ratio = rows
    line("tick -> IndexedDB commit", "tick", None, tick["target"], tick["pass"])
    line("  input -> put (reads done)", "tick_reads", None)
    kinds = {
        "offline": ("offline open -> checkbox painted", offline["target"], offline["pass"]),
        "online_bypassed": ("online open, worker bypassed", "(the ratio's online)", None),
        "online_through_worker": ("online open through the worker", "(reference)", None),
    }
    for key, (name, target, ok) in kinds.items():
        line(name, key, None, target, ok)
        for step, step_name in STEPS.items():
            line(f"  -> {step_name}", key, step)
    mine = f"{current['ratio']:.2f}x"
    theirs = f"{old['ratio']:.2f}x" if old else "-"
    verdict = "PASS" if ratio["pass"] else "FAIL"
    target = f"<= {OFFLINE_OVER_ONLINE:g} x (medians)"
    print(
        f"{'offline / online (bypassed)':34} {'':3} {mine:>9} {'':9}   {theirs:>9} {'':9}   "
        f"{target:32} {verdict}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
