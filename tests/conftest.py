"""Fixtures for every test: a real app on a temporary data folder, and its client."""

from __future__ import annotations

import pytest
from support import GENEROUS_LIMITS

from pwa import create_app


@pytest.fixture(scope="session")
def postgres_database():
    """This run's PostgreSQL database (tests/postgres_db.py), made when first asked for."""
    from postgres_db import made_or_skipped

    database = made_or_skipped()
    yield database
    database.drop()


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch):
    """No PWA_* or DATA_DIR setting from the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("PWA_") or name in ("DATA_DIR", "REDIS_URL", "DATABASE_URL"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


BACKENDS = ("files", "postgres")


def pytest_generate_tests(metafunc):
    """A module marked `both_backends` runs each app test on the files and on PostgreSQL."""
    definition = metafunc.definition
    if (
        "backend" in metafunc.fixturenames
        and definition.get_closest_marker("both_backends")
        and not definition.get_closest_marker("files")
    ):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request):
    """Where the app keeps its plans: "files" (the default) or "postgres"."""
    return getattr(request, "param", "files")


@pytest.fixture
def stores(data_dir, backend, request) -> dict:
    """The app settings that say where it keeps its data: DATA_DIR, and on PostgreSQL an
    emptied test database's DATABASE_URL."""
    config = {"DATA_DIR": data_dir}
    if backend == "postgres":
        database = request.getfixturevalue("postgres_database")
        database.empty()
        config["DATABASE_URL"] = database.url
    return config


@pytest.fixture
def app(stores):
    return create_app({"TESTING": True, **stores, **GENEROUS_LIMITS})


@pytest.fixture
def client(app):
    return app.test_client()


def pytest_terminal_summary(terminalreporter):
    """Say loudly when the check against copied sentences could not run (no seed article)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any("copied_from_the_seed" in report.nodeid for report in skipped):
        terminalreporter.write_line(
            "NOT CHECKED: no sentence copied from the seed article (shared/seed is not beside "
            "this checkout; set SHARED_DIR to the shared folder).",
            yellow=True,
            bold=True,
        )
