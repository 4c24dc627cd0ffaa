"""Blueprint "api": JSON endpoints under /api.  Errors here are always JSON (see errors.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)


@bp.get("/health")
def health():
    """Liveness for deployments and tests: answers once a worker can serve."""
    return {"status": "ok"}
