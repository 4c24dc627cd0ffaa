"""The folder tree is the architecture: only the storage package knows how data is kept,
and the aftercare's domain logic (pwa/care/) needs neither Flask nor storage."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pwa"
# What only pwa/storage/ may import: the embedded store and its file lock.
STORAGE_ONLY = {"tinydb", "filelock"}


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
