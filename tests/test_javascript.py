"""The phone's JavaScript twins, run by Node's own test runner (tests/js/).

The merge, day numbers, series and plan logic run against the same JSON vectors as the
Python tests (tests/vectors/), so a vector added once is run by both, and a rule changed
in one language alone fails here or there.  The phone's state owner (lib/plan-state.js)
runs over fake-indexeddb, a real IndexedDB in JavaScript from the front-end packages.
Node comes with the front-end packages (make setup needs npm); its test runner needs
nothing installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")


def test_javascript_unit_tests_pass():
    assert NODE, "node is needed (make setup installs the front-end packages with npm)"
    files = sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "tests" / "js").glob("*.test.mjs")
    )
    assert len(files) >= 5, files
    ran = subprocess.run(
        [NODE, "--test", "--test-reporter=tap", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    passed = int(
        next(line for line in ran.stdout.splitlines() if line.startswith("# pass")).split()[-1]
    )
    assert passed >= 50, ran.stdout
