"""Error responses: JSON under /api (what fetch() and the service worker expect), HTML elsewhere."""

from __future__ import annotations

import errno

from flask import Flask
from flask import current_app
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import ServiceUnavailable

# Shown instead of Werkzeug's wording, which is written for developers.
FRIENDLY_TITLES = {
    404: "We can't find that page",
    405: "That didn't work",
    500: "Something went wrong on our side",
}


def init_app(app: Flask) -> None:
    """Register the handlers for every HTTP error and for unexpected exceptions."""
    from .. import storage
    from ..care import merge
    from ..care import plans
    from ..reminders import due
    from ..reminders import push_checks

    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
    # Bad input from a device: a 400 naming the field, and nothing was stored.
    for invalid in (plans.PlanError, merge.EventError, push_checks.PushError, due.PrefsError):
        app.register_error_handler(invalid, lambda e: error_response(400, "invalid", str(e)))
    # The plan or device vanished between the credential check and the write.
    for gone in (storage.PlanNotFound, storage.UnknownDevice):
        app.register_error_handler(gone, lambda e: handle_http_error(NotFound()))
    app.register_error_handler(storage.StoreBusy, lambda e: handle_http_error(ServiceUnavailable()))
    # A per-plan limit: a clear refusal the phone shows as it is.
    app.register_error_handler(storage.TooMany, lambda e: error_response(409, "too_many", str(e)))
    app.register_error_handler(OSError, handle_os_error)


def error_response(status: int, code: str, message: str):
    """The one JSON error shape of the API: {"error": code, "message": text}."""
    return {"error": code, "message": message}, status


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def handle_http_error(error: HTTPException):
    status = error.code or 500
    # Keep headers that carry meaning (Allow on 405, Retry-After on 429).
    headers = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After")}
    if wants_json():
        code = (error.name or "error").lower().replace(" ", "_")
        body, status = error_response(status, code, error.description or error.name)
        return body, status, headers
    title = FRIENDLY_TITLES.get(status, error.name)
    return render_template("errors/error.html", status=status, title=title), status, headers


def handle_os_error(error: OSError):
    """A full disk is a clear, temporary 507; any other OS error is unexpected."""
    if error.errno not in (errno.ENOSPC, errno.EDQUOT):
        return handle_unexpected_error(error)
    message = (
        "The server's storage is full, so nothing was saved there. Your ticks are safe on your "
        "phone and will be sent again later."
    )
    if wants_json():
        return error_response(507, "storage_full", message)
    return render_template("errors/error.html", status=507, title="Storage full"), 507


def handle_unexpected_error(error: Exception):
    # Flask logs only exceptions that no handler takes, and this one takes them all:
    # log the traceback here, where an operator will look.  The client gets a calm
    # page (or JSON) that reveals nothing about the server.
    current_app.logger.error(
        "Unexpected error on %s %s", request.method, request.path, exc_info=error
    )
    return handle_http_error(InternalServerError())
