"""`make run` for real: gunicorn with several workers, a fresh data folder, and start-up errors."""

from __future__ import annotations

import re
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from support import ROOT
from support import RunningServer
from support import clean_environment
from support import free_port


def test_make_run_serves_the_explainer_from_a_fresh_data_folder(tmp_path):
    data_dir = tmp_path / "fresh" / "data"
    server = RunningServer(data_dir, tmp_path / "server.log", WORKERS="3").start()
    try:
        for path in ("/", "/learn/", "/learn/what-is-pih", "/api/health"):
            with urllib.request.urlopen(server.url + path, timeout=5) as response:
                assert response.status == 200, path
        key = data_dir / "secret_key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        deadline = time.monotonic() + 15
        while len(re.findall(r"Booting worker with pid", server.log())) < 3:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        log = server.log()
        # The master built the app (and the key) before any worker was forked.
        assert log.index("Data folder:") < log.index("Booting worker")
    finally:
        server.stop()
    assert not list(data_dir.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ('clinc_name = "typo"\n', "unknown setting 'clinc_name'"),
        ('content_reviewer = "Dr B"\n', "CONTENT_REVIEWED_ON: required"),
    ],
)
def test_make_run_stops_with_one_clear_line_on_bad_settings(tmp_path, config_text, message):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "config.toml").write_text(config_text)
    env = clean_environment(PORT=str(free_port()), DATA_DIR=str(data_dir))
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stdout + result.stderr


def schedulers(data_dir) -> dict[int, int]:
    """{pid: parent pid} of the reminder scheduler processes serving `data_dir`."""
    found = {}
    # Listed whole first: a process that ends mid-scan must not leave the scan half-read.
    for proc in list(Path("/proc").glob("[0-9]*")):
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except OSError:
            continue
        if b"reminders" in command and b"run" in command:
            if f"DATA_DIR={data_dir}".encode() in environ:
                parent = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
                found[int(proc.name)] = int(parent.group(1))
    return found


def test_make_run_starts_exactly_one_reminder_scheduler_beside_the_workers(tmp_path):
    data_dir = tmp_path / "data"
    server = RunningServer(
        data_dir,
        tmp_path / "server.log",
        WORKERS="3",
        PWA_PUSH_CONTACT="mailto:reminders@clinic-aftercare.co.uk",
    ).start()
    try:
        deadline = time.monotonic() + 15
        while len(re.findall(r"Booting worker with pid", server.log())) < 3:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        time.sleep(1)  # one scheduler per worker would have started by now
        master = int(re.search(r"\[(\d+)\] \[INFO\] Starting gunicorn", server.log()).group(1))
        assert list(schedulers(data_dir).values()) == [master], server.log()
        assert "Reminder scheduler started" in server.log()
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while schedulers(data_dir):
        assert time.monotonic() < deadline, "the scheduler outlived the server"
        time.sleep(0.2)


def test_gunicorn_opens_no_control_socket_that_another_instance_would_share():
    printed = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "--print-config"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert re.search(r"^control_socket_disable\s+= True$", printed, re.MULTILINE), printed
