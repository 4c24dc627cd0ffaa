"""Browser fixtures: Debian's Chromium driven by Playwright, against a real `make run` server.

Never `playwright install`: it downloads a browser build, which fails offline.
Without Chromium the browser tests are skipped with one loud line, unless CI
is set, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from helpers import CHROMIUM
from helpers import CHROMIUM_ARGS
from helpers import CLINIC
from helpers import PRACTITIONER_EMAIL
from helpers import PRACTITIONER_PASSWORD
from helpers import launch_profile
from support import ROOT
from support import RunningServer
from support import clean_environment
from support import generous_limits_environment

NO_BROWSER = (
    f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM}. "
    "Install it with `sudo apt-get install chromium` (make test does this as root)."
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    config._browser_skipped = True
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=NO_BROWSER))


def pytest_terminal_summary(terminalreporter, config):
    if getattr(config, "_browser_skipped", False):
        terminalreporter.write_line("!" * 78, red=True)
        terminalreporter.write_line(NO_BROWSER, red=True, bold=True)
        terminalreporter.write_line("!" * 78, red=True)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app as `make run` serves it (gunicorn, several workers), on a free port."""
    folder = tmp_path_factory.mktemp("live")
    # Shared by the whole browser suite: more plans from one address than a clinic makes.
    # With push set up, as a clinic that offers notifications runs it (own_server has none).
    server = RunningServer(
        folder / "data",
        folder / "server.log",
        WORKERS="2",
        PWA_PUSH_CONTACT="mailto:reminders@clinic-example.co.uk",
        **generous_limits_environment(),
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright():
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set and there is no Chromium at {CHROMIUM}: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def profile(playwright, tmp_path):
    """A persistent profile, like a real phone's browser: installability needs one
    (an incognito-like context always answers "in-incognito")."""
    context = launch_profile(playwright, tmp_path / "profile")
    yield context
    context.close()


@pytest.fixture
def second_profile(playwright, tmp_path):
    """Another phone of the same person, in London."""
    context = launch_profile(playwright, tmp_path / "second", timezone_id="Europe/London")
    yield context
    context.close()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own, which the test may stop (a real outage) and restart."""
    server = RunningServer(tmp_path / "data", tmp_path / "server.log", WORKERS="2")
    yield server.start()
    server.stop()


@pytest.fixture
def phone(browser):
    """A fresh phone-sized context (390×844, touch), closed after the test."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    yield context
    context.close()


@pytest.fixture
def clinic_server(tmp_path):
    """A server with a clinic's settings and one practitioner account."""
    server = RunningServer(tmp_path / "data", tmp_path / "server.log", WORKERS="2", **CLINIC)
    server.start()
    created = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "flask"),
            *("--app", "pwa", "practitioner", "create", PRACTITIONER_EMAIL),
        ],
        env=clean_environment(DATA_DIR=str(server.data_dir), PWA_PASSWORD=PRACTITIONER_PASSWORD),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    yield server
    server.stop()


@pytest.fixture
def desk(playwright, tmp_path):
    """The practitioner's laptop (axe may scan its pages)."""
    context = launch_profile(
        playwright, tmp_path / "desk", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    yield context
    context.close()


@pytest.fixture
def checked_phone(playwright, tmp_path):
    """A phone profile in London whose pages axe may scan (a strict CSP blocks an injected
    axe; the app's own scripts are all from 'self' and test_pages_in_browser runs them
    under the CSP)."""
    context = launch_profile(
        playwright, tmp_path / "phone", timezone_id="Europe/London", bypass_csp=True
    )
    yield context
    context.close()


@pytest.fixture
def client_phone(playwright, tmp_path):
    """A clinic client's phone, in the clinic's time zone (London)."""
    from test_checklist import TIME_ZONE

    context = launch_profile(playwright, tmp_path / "phone", timezone_id=TIME_ZONE)
    yield context
    context.close()
