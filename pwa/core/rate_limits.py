"""Rate limits per client address, counted across every worker.

The counting is the `limits` library's (fixed windows), on storage every worker
sees: Redis when REDIS_URL is set (several hosts), else a SQLite file in the data
folder (pwa/core/counters.py); any `limits` storage URI may be given instead.  The views
in `LIMITED` are wrapped here, so the list of what is limited is in one place.
This is what Flask-Limiter does too, but through machinery that cost about 0.2 ms
per request here (an empty sync took 0.69 ms with it, 0.46 ms without); the thin
wrapper costs one counter hit (15 µs on the SQLite file).

The client's address is the TCP peer's, or X-Forwarded-For's when TRUSTED_PROXIES
says how many proxies to believe (pwa/__init__.py); a forwarded request on a
server that believes none is logged once per worker, as every client then looks
like the proxy and shares one budget.

The growing wait after wrong logins is not a rate limit: it is counted in the clinic
store, where every host sees it (pwa/clinic/login_waits.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from functools import wraps

import limits
from flask import Flask
from flask import current_app
from flask import request
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from . import counters

COUNTERS_FILE = "counters.sqlite3"
# endpoint -> the setting that holds its per-address rate (POST requests only).
LIMITED = {
    "api.register_plan": "PLAN_RATE_LIMIT",
    "api.join": "JOIN_RATE_LIMIT",
    "api.check_invitation": "INVITATION_RATE_LIMIT",
    "api.redeem_invitation": "INVITATION_RATE_LIMIT",
    "api.sync": "SYNC_RATE_LIMIT",
    "console.login": "LOGIN_RATE_LIMIT",
    "console.login_code": "LOGIN_RATE_LIMIT",
    "console_account.password": "LOGIN_RATE_LIMIT",
    "console_account.two_step_disable": "LOGIN_RATE_LIMIT",
}
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def storage_uri(config) -> str:
    """Where the counters live: the setting, else REDIS_URL, else the data folder's file."""
    if config["RATELIMIT_STORAGE_URI"]:
        return config["RATELIMIT_STORAGE_URI"]
    if config["REDIS_URL"]:
        return config["REDIS_URL"]
    return counters.uri_for(config["DATA_DIR"] / COUNTERS_FILE)


def init_app(app: Flask) -> None:
    """Limit the views in LIMITED (call after every blueprint is registered)."""
    uri = storage_uri(app.config)
    if uri.startswith(f"{counters.SCHEME}://"):
        counters.prepare(uri)  # the master makes it before any worker (gunicorn.conf.py)
    app.config["RATELIMIT_STORAGE_URI"] = uri
    limiter = Limiter(uri, app.config.get("RATELIMIT_KEY_PREFIX", ""))
    for endpoint, setting in LIMITED.items():
        app.view_functions[endpoint] = limiter.limited(app.view_functions[endpoint], setting)
    app.extensions["rate_limiter"] = limiter
    if not app.config["TRUSTED_PROXIES"]:
        app.before_request(_notice_forwarded_headers)


class Limiter:
    """Fixed-window counts per (view, client address) on one `limits` storage."""

    def __init__(self, uri: str, prefix: str = "") -> None:
        self.storage = storage_from_string(uri)
        self.prefix = prefix
        self._windows = FixedWindowRateLimiter(self.storage)

    def limited(self, view: Callable, setting: str) -> Callable:
        """`view`, refusing a POST with a 429 (and Retry-After) past the setting's rate."""

        @wraps(view)
        def checked(*args, **kwargs):
            if request.method == "POST":
                self.check(_rates(current_app.config[setting]), request.endpoint)
            return view(*args, **kwargs)

        return checked

    def check(self, rates: list[limits.RateLimitItem], name: str, key: str = "") -> None:
        """Count one request as `name` from this address (or for `key`); 429 past a rate."""
        who = (f"{self.prefix}{name}", key or client_address())
        with self.unless_broken():
            over = [rate for rate in rates if not self._windows.hit(rate, *who)]
            if not over:
                return
            ends = max(self._windows.get_window_stats(rate, *who).reset_time for rate in over)
            raise TooManyRequests(
                "Too many requests from your network just now. Please wait a little.",
                retry_after=max(1, math.ceil(ends - time.time())),
            )

    @contextmanager
    def unless_broken(self) -> Iterator[None]:
        # Counters that cannot be read or written (a full disk, Redis down) let the
        # request through and log why: a phone's sync matters more than its count.
        try:
            yield
        except self.storage.base_exceptions:
            current_app.logger.exception("Rate-limit counters unavailable; not limiting")


def check_plan_sync(plan_id: str) -> None:
    """Count a sync of `plan_id` from any address: with a valid credential, a caller on many
    addresses could otherwise make the server read a big plan many times a second."""
    limiter = current_app.extensions["rate_limiter"]
    limiter.check(_rates(current_app.config["PLAN_SYNC_RATE_LIMIT"]), "api.sync.plan", plan_id)


def client_address() -> str:
    """The address limits count by (the proxy's forwarded one only when trusted)."""
    return request.remote_addr or "unknown"


@cache
def _rates(text: str) -> list[limits.RateLimitItem]:
    # Checked at start (config._rate); "10/minute;100/hour" is two rates, both kept.
    return limits.parse_many(text)


def _notice_forwarded_headers() -> None:
    seen = [name for name in FORWARDED if name in request.environ]
    if not seen:
        return
    current_app.logger.warning(
        "A request came with forwarded headers (%s) but TRUSTED_PROXIES is 0: every client "
        "behind the proxy counts as the proxy's address for rate limits. Set "
        "PWA_TRUSTED_PROXIES to the number of proxies in front of the app.",
        ", ".join(name.removeprefix("HTTP_").replace("_", "-").title() for name in seen),
    )
    # Once per worker is enough to be seen; the hook then costs nothing.
    current_app.before_request_funcs[None].remove(_notice_forwarded_headers)
