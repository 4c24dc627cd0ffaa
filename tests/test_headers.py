"""Security headers on every kind of response the app sends, over http and https."""

from __future__ import annotations

import pytest

PATHS = {
    "html page": "/",
    "explainer page": "/learn/what-is-pih",
    "html 404": "/no-such-page",
    "json": "/api/health",
    "json error": "/api/plans/not-a-plan-id/export",
    "static file": "/static/css/app.css",
    "service worker": "/sw.js",
    "worker import": "/sw-notifications.js",
    "manifest": "/manifest.webmanifest",
    "schedule": "/protocol.json",
    "calendar feed 404": "/sessions/calendar.ics?plan=x&key=y",
    "console login": "/console/login",
    "console redirect": "/console/",
}


@pytest.mark.parametrize("name", PATHS)
def test_every_response_carries_the_security_headers(client, name):
    with client.get(PATHS[name]) as response:  # closes a streamed static file
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "http:" not in policy and "https:" not in policy and "*" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers, "HSTS only over HTTPS"


@pytest.mark.parametrize("name", ["html page", "json", "console login"])
def test_hsts_over_https(client, name):
    with client.get(PATHS[name], base_url="https://localhost") as response:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_console_pages_are_never_cached(client):
    assert client.get("/console/login").headers["Cache-Control"] == "no-store"
