"""Fixtures for every test: a real app on a temporary data folder, and its client."""

from __future__ import annotations

import pytest
from support import GENEROUS_LIMITS

from pwa import create_app


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch):
    """No PWA_* or DATA_DIR setting from the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("PWA_") or name in ("DATA_DIR", "REDIS_URL"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def app(data_dir):
    return create_app({"TESTING": True, "DATA_DIR": data_dir, **GENEROUS_LIMITS})


@pytest.fixture
def client(app):
    return app.test_client()
