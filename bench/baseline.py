"""The old client, built beside this checkout, for bench/checklist.py to measure in the same run.

COMMIT is the last commit before issue 17's client work (Today's critical path as 13 ES
modules through the service worker, no bundle).  `prepare()` extracts it with `git archive`
into bench/.baseline/<COMMIT>/ (gitignored; the commit is in the history of any full clone),
installs its front-end packages and copies its Workbox and idb files with its own Makefile's
vendor rule (`npm ci --ignore-scripts`, as it always did), and picks a Python environment: this
checkout's .venv when the pinned requirements.txt is the same, else its own .venv made by its
own Makefile.  A stamp file says the tree is complete, so a second run installs nothing.
`BaselineServer` starts it as `make run` would: its own gunicorn.conf.py, with the worktree as
the working directory and on PYTHONPATH, so its own `pwa` package serves its own static files.

Usage: `.venv/bin/python bench/baseline.py` prepares the tree and prints where it is.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import RunningServer  # noqa: E402

COMMIT = "66c185f"
FOLDER = ROOT / "bench" / ".baseline"
# Its own Makefile's target that runs `npm ci --prefix service_worker --ignore-scripts` and
# copies the Workbox runtime and idb into static/vendor.
VENDOR_TARGET = "static/vendor/.installed"
STAMP = ".bench-ready"


class BaselineError(RuntimeError):
    """The pinned commit could not be built (not in this clone's history, npm failed...)."""


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise BaselineError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def describe() -> dict:
    """The pinned commit: its full hash and subject line."""
    full = git("rev-parse", "--verify", f"{COMMIT}^{{commit}}")
    return {
        "commit": full[:7],
        "full_commit": full,
        "subject": git("log", "-1", "--format=%s", full),
    }


def tree() -> Path:
    return FOLDER / COMMIT


def prepare() -> Path:
    """The baseline's folder, extracted and set up if it is not yet (prints what it does)."""
    target = tree()
    if (target / STAMP).exists():
        return target
    try:
        git("cat-file", "-e", f"{COMMIT}^{{commit}}")
    except BaselineError:
        raise BaselineError(
            f"commit {COMMIT} is not in this clone's history (a shallow clone?): "
            f"git fetch --unshallow, or clone the whole repository"
        ) from None
    FOLDER.mkdir(parents=True, exist_ok=True)
    print(f"Building the old client ({COMMIT}) in {target.relative_to(ROOT)}", flush=True)
    if target.exists():  # a build cut short: start again
        shutil.rmtree(target)
    # Extracted beside its final place, then renamed: a half-written tree is never used.
    scratch = Path(tempfile.mkdtemp(prefix=f"{COMMIT}-", dir=FOLDER))
    archive = subprocess.Popen(
        ["git", "-C", str(ROOT), "archive", "--format=tar", COMMIT], stdout=subprocess.PIPE
    )
    unpacked = subprocess.run(["tar", "-x", "-C", str(scratch)], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0 or unpacked.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise BaselineError(f"git archive {COMMIT} could not be extracted")
    scratch.rename(target)
    run(["make", "--no-print-directory", "-C", str(target), VENDOR_TARGET])
    if not same_requirements(target):
        run(["make", "--no-print-directory", "-C", str(target), ".venv/.run-deps"])
    (target / STAMP).write_text(describe()["full_commit"] + "\n")
    return target


def run(command: list[str]) -> None:
    print("  " + " ".join(command), flush=True)
    # Not the settings of a `make bench` this runs under: the old Makefile is on its own.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if subprocess.run(command, env=env).returncode != 0:
        raise BaselineError(f"failed: {' '.join(command)}")


def same_requirements(target: Path) -> bool:
    return filecmp.cmp(ROOT / "requirements.txt", target / "requirements.txt", shallow=False)


def gunicorn(target: Path) -> Path:
    """This checkout's gunicorn when the baseline pins the same packages, else its own."""
    venv = ROOT / ".venv" if same_requirements(target) else target / ".venv"
    return venv / "bin" / "gunicorn"


class BaselineServer(RunningServer):
    """The baseline served as `make run` serves this checkout (same gunicorn settings, its
    own copy of them), in its own process group, on a free port, with its own data folder."""

    def __init__(self, data_dir: Path, log_path: Path, **env: str):
        self.root = tree()
        super().__init__(data_dir, log_path, **env)
        # What `make run` passes, with the Makefile's defaults, and the old code on the path.
        self._env = {
            "HOST": "127.0.0.1",
            "THREADS": "4",
            "WORKERS": "3",
            **self._env,
            "PYTHONPATH": str(self.root),
        }

    def command(self) -> list[str]:
        return [str(gunicorn(self.root)), "-c", "gunicorn.conf.py"]

    @property
    def cwd(self) -> Path:
        return self.root


if __name__ == "__main__":
    try:
        print(prepare())
    except BaselineError as error:
        sys.exit(f"error: {error}")
