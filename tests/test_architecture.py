"""The folder tree is the architecture: only the storage package knows how data is kept,
and the aftercare's domain logic (pwa/care/) needs neither Flask nor storage."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from pwa import storage
from pwa.storage import postgres

PACKAGE = Path(__file__).resolve().parent.parent / "pwa"
# What only pwa/storage/ may import: the embedded store and its file lock.
STORAGE_ONLY = {"tinydb", "filelock"}
OUTSIDE_STORAGE = [path for path in PACKAGE.rglob("*.py") if "storage" not in path.parts]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_storage_package_imports_the_store_libraries():
    outside = [path for path in PACKAGE.rglob("*.py") if "storage" not in path.parts]
    assert len(outside) > 20, "the package's modules were found"
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(imported_roots(path) & STORAGE_ONLY)
        for path in outside
    }
    assert {name: libs for name, libs in offenders.items() if libs} == {}
    inside = [path for path in (PACKAGE / "storage").glob("*.py")]
    assert any(imported_roots(path) & STORAGE_ONLY for path in inside)


def test_the_care_package_is_plain_functions():
    modules = list((PACKAGE / "care").glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        assert "flask" not in imported_roots(path), path.name
        text = path.read_text()
        assert "from ..storage" not in text and "current_app" not in text, path.name


def storage_modules_named(path: Path) -> set[str]:
    """The modules of pwa/storage/ that `path` imports by name (the package itself is fine)."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        ours = isinstance(node, ast.ImportFrom) and (node.level or "pwa" in str(node.module))
        if ours and node.module:
            parts = node.module.split(".")
            if "storage" in parts and parts[-1] != "storage":
                named.add(node.module)
            if parts[-1] == "storage":
                named |= {alias.name for alias in node.names if alias.name.islower()}
    return named


def test_outside_the_storage_package_only_its_interface_is_used():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(storage_modules_named(path))
        for path in OUTSIDE_STORAGE
    }
    assert {name: modules for name, modules in offenders.items() if modules} == {}
    # And no one reaches through a file-backed store to its files.
    for path in OUTSIDE_STORAGE:
        assert ".files." not in path.read_text(), path.name


@pytest.mark.parametrize(
    ("interface", "backend"),
    [
        (storage.PlanStore, storage.FilePlanStore),
        (storage.ClinicStore, storage.FileClinicStore),
        (storage.PlanStore, postgres.PostgresPlanStore),
        (storage.ClinicStore, postgres.PostgresClinicStore),
    ],
)
def test_each_backend_does_everything_the_interface_names(interface, backend):
    operations = [name for name in vars(interface) if not name.startswith("_")]
    assert len(operations) > 20
    for name in operations:
        promised = inspect.signature(getattr(interface, name))
        kept = inspect.signature(getattr(backend, name))
        # A backend method bound from a module function takes the files first; compare the rest.
        promised_names = [p for p in promised.parameters if p != "self"]
        kept_names = [p for p in kept.parameters if p != "self"]
        if kept_names and kept_names[0] in {"store", "clinic"}:
            kept_names = kept_names[1:]
        assert kept_names == promised_names, name
