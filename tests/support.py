"""Helpers shared by the test modules: free ports and a real server started with `make run`."""

from __future__ import annotations

import http.cookiejar
import json as json_module
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# What tests that are not about rate limits allow a client: they send more from one address
# than any phone or clinic would.  tests/test_rate_limits.py tests the real limits.
GENEROUS_LIMITS = {
    f"{kind}_RATE_LIMIT": "100000 per hour"
    for kind in ("PLAN", "JOIN", "INVITATION", "SYNC", "PLAN_SYNC")
}


def generous_limits_environment() -> dict[str, str]:
    """GENEROUS_LIMITS as a server's environment."""
    return {f"PWA_{name}": rate for name, rate in GENEROUS_LIMITS.items()}


def clean_environment(**extra: str) -> dict[str, str]:
    """The current environment without any PWA_*, DATA_DIR or REDIS_URL setting, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PWA_") and k not in ("DATA_DIR", "REDIS_URL")
    }
    env.update(extra)
    return env


class RunningServer:
    """`make run` in its own process group, on a free port, with its own data folder."""

    def __init__(self, data_dir: Path, log_path: Path, port: int | None = None, **env: str):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._env = clean_environment(PORT=str(self.port), DATA_DIR=str(data_dir), **env)
        self.process: subprocess.Popen | None = None

    # What starts it, from which folder: a subclass may serve other code the same way.
    def command(self) -> list[str]:
        return ["make", "--no-print-directory", "-C", str(ROOT), "run"]

    cwd: Path | None = None

    def start(self, timeout: float = 30.0) -> RunningServer:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.cwd,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                program, status = self.command()[0], self.process.returncode
                raise RuntimeError(f"{program} exited with {status}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class HttpClient:
    """Enough of Flask's test client (get, post, put, delete; json=, data=, headers=) to
    drive a running server over real HTTP, with a cookie jar of its own."""

    def __init__(self, url: str, cookies: http.cookiejar.CookieJar | None = None) -> None:
        self.url = url
        self.cookies = cookies if cookies is not None else http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects
        )

    def request(self, method: str, path: str, json=None, data=None, headers=None) -> Answer:
        body, sent = None, dict(headers or {})
        if json is not None:
            body = json_module.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.url + path, body, sent, method=method)
        try:
            with self._opener.open(request, timeout=30) as response:
                return Answer(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), error.headers)

    def get(self, path: str, **options) -> Answer:
        return self.request("GET", path, **options)

    def post(self, path: str, **options) -> Answer:
        return self.request("POST", path, **options)

    def put(self, path: str, **options) -> Answer:
        return self.request("PUT", path, **options)

    def delete(self, path: str, **options) -> Answer:
        return self.request("DELETE", path, **options)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer to look at, as Flask's test client gives it.
    def redirect_request(self, *args, **kwargs):
        return None


class Answer:
    """A response as tests read it."""

    def __init__(self, status_code: int, body: bytes, headers) -> None:
        self.status_code, self.data, self.headers = status_code, body, headers

    @property
    def text(self) -> str:
        return self.data.decode()

    def get_json(self):
        return json_module.loads(self.data)


def wait_until(condition, timeout: float = 120, every: float = 0.02) -> None:
    """Return once `condition()` is true; fail if it is not within `timeout` seconds.

    For what announces itself nowhere but in a file or another process (a server's log, a
    database row): it is looked at every `every` seconds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not true within {timeout} s: {condition}"
        # The condition is announced nowhere (a log line, a row), so it is looked at again
        # after this pause; the test goes on as soon as it holds.
        time.sleep(every)  # poll interval between looks at the condition, not a fixed wait


def stored_plans(data_dir: Path, database_url: str = ""):
    """The plan store (storage.PlanStore) of a server started on `data_dir` (and
    DATABASE_URL, if it had one), to check what it stored."""
    # Imported here: the bench scripts use this module without the app on their path.
    from pwa import storage

    return storage.plan_store({"DATA_DIR": data_dir, "DATABASE_URL": database_url})


def assert_nothing_lost(stored: list[dict], sent: list[dict]) -> None:
    """What "no tick lost" means once a plan keeps only winners (merge.compact): the server
    stored only events that were sent, each once, and merging them gives exactly what
    merging every event sent gives, for the boxes and for the sessions."""
    from pwa.care import merge

    stored_ids = [event["id"] for event in stored]
    assert len(stored_ids) == len(set(stored_ids)), "an event stored twice"
    assert set(stored_ids) <= {event["id"] for event in sent}, "an event nobody sent"
    assert merge.merge({}, stored) == merge.merge({}, sent), "a box lost its last edit"
    assert merge.merge_sessions({}, stored) == merge.merge_sessions({}, sent), "a session too"
