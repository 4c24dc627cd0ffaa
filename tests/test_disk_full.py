"""A full disk: a clear error to the phone, nothing corrupted, recovery when space returns.

On a real, small tmpfs where the machine lets us mount one (root with mount
rights); otherwise OSError(ENOSPC) is raised at the storage write boundary
(the one place files are written), as the issue allows.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess

import pytest
from test_api import Device
from test_api import today

from pwa import create_app
from pwa.storage import table_file
from pwa.storage.table_file import load_file


@contextlib.contextmanager
def small_disk(folder, size="400k"):
    """Yield "tmpfs" with `folder` on a size-limited file system, or "injected" if none."""
    folder.mkdir(parents=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)]
    try:
        ok = subprocess.run(command, capture_output=True).returncode == 0
    except OSError:  # no mount command at all
        ok = False
    try:
        yield "tmpfs" if ok else "injected"
    finally:
        if ok:
            # The app under test may still hold its rate-limit counters file open there (a
            # SQLite connection per thread); a lazy unmount detaches the file system now and
            # frees it when that connection goes, so no mount outlives the test.
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def disk(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    with small_disk(folder) as kind:
        full = {"on": False}
        filler = folder / "filler.bin"

        def fill():
            if kind == "tmpfs":
                with open(filler, "wb") as handle, contextlib.suppress(OSError):
                    while True:
                        handle.write(b"\0" * 65536)
                        handle.flush()
            full["on"] = True

        def free():
            filler.unlink(missing_ok=True)
            full["on"] = False

        if kind == "injected":
            real_write = table_file.AtomicJSONStorage.write

            def write(self, data):
                if full["on"]:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real_write(self, data)

            monkeypatch.setattr(table_file.AtomicJSONStorage, "write", write)
        yield {"folder": folder, "fill": fill, "free": free, "kind": kind}


def test_a_full_disk_refuses_clearly_keeps_every_file_and_recovers(disk):
    print(f"full disk simulated by: {disk['kind']}")  # tmpfs, or injected where mounting is refused
    app = create_app({"DATA_DIR": disk["folder"]})
    store = app.extensions["plans"]
    phone = Device(app.test_client())
    assert phone.register().status_code == 201
    first = phone.event(item="hands-off")
    assert phone.sync([first]).status_code == 200

    disk["fill"]()
    late = [phone.event(item="no-alcohol"), phone.event(item="hands-off", done=False)]
    answer = phone.sync(late)
    assert answer.status_code == 507, answer.get_json()
    assert answer.get_json()["error"] == "storage_full"
    assert "safe on your phone" in answer.get_json()["message"]
    # Nothing half-written: the plan file still parses and holds exactly what was acknowledged.
    path = store.files.folder / f"{phone.plan_id}.json"
    load_file(path)
    assert [e["id"] for e in store.export_plan(phone.plan_id)["events"]] == [first["id"]]
    assert not list(store.files.folder.glob(f"{table_file.TEMP_PREFIX}*")), (
        "no temp files left behind"
    )
    other = Device(app.test_client())
    assert other.register().status_code == 507 and not store.plan_exists(other.plan_id)

    disk["free"]()
    answer = phone.sync(late)
    assert answer.status_code == 200
    ids = [e["id"] for e in store.export_plan(phone.plan_id)["events"]]
    # The untick replaced the first tick of its box (the plan keeps each box's winner).
    assert ids == [e["id"] for e in late]
    assert store.tick_state(phone.plan_id)[(today(), "hands-off")]["done"] is False
