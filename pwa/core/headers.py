"""Security headers on every response.

The Content-Security-Policy allows nothing from other origins and no inline
script or style, so a template that slips in `style=` or a CDN link breaks
visibly in the browser tests instead of silently in production.  The
exceptions are the inline stylesheet and Today's boot script, each allowed by
its SHA-256 (app_shell.inline_text): any other inline script or style, or a changed
copy of these, is refused.
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import current_app
from flask import request

from ..shell import app_shell


def content_security_policy(script_hashes: list[str], style_hash: str) -> str:
    """The policy, allowing the inline scripts and the inline stylesheet, by their hashes."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {' '.join(script_hashes)}",
            f"style-src 'self' {style_hash}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


# Features this app never uses, switched off for it and anything it could embed.  Only
# names Chromium knows: an unknown one (bluetooth) is a console error on every page.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "serial",
        "display-capture",
        "accelerometer",
        "gyroscope",
        "magnetometer",
    )
)
# Two years, the figure browsers' preload lists ask for.
HSTS = "max-age=63072000; includeSubDomains"


def init_app(app: Flask) -> None:
    app.extensions["content_security_policy"] = content_security_policy(
        [app_shell.csp_hash(script) for script in app_shell.INLINE_SCRIPTS],
        app_shell.csp_hash(app_shell.STYLESHEET),
    )
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Set the headers every page and API answer carries."""
    policy = current_app.extensions["content_security_policy"]
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Page addresses can carry plan ids; no other site needs to see them.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    # API answers carry health information: no browser or proxy cache may keep them.
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
