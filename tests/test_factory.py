"""The application factory and the configuration chain."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import time
from datetime import date

import pytest

from pwa import ROOT
from pwa import create_app
from pwa.core.config import ConfigError
from pwa.core.data_dir import SECRET_KEY_FILE


def test_factory_defaults_to_not_testing(data_dir, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    assert not create_app().testing
    assert create_app({"TESTING": True, "DATA_DIR": data_dir}).testing


def test_data_dir_defaults_to_instance_in_the_checkout(monkeypatch, tmp_path):
    app = create_app({"SECRET_KEY": "x" * 64})
    assert app.config["DATA_DIR"] == ROOT / "instance"


def test_relative_data_dir_is_relative_to_the_checkout():
    try:
        app = create_app({"DATA_DIR": "test-data-dir/where", "SECRET_KEY": "x" * 64})
        assert app.config["DATA_DIR"] == ROOT / "test-data-dir" / "where"
    finally:
        shutil.rmtree(ROOT / "test-data-dir", ignore_errors=True)


def test_secret_key_is_created_private_and_reused(data_dir):
    first = create_app({"DATA_DIR": data_dir})
    key_file = data_dir / SECRET_KEY_FILE
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) == 64
    assert create_app({"DATA_DIR": data_dir}).secret_key == first.secret_key
    assert not list(data_dir.glob(".*.tmp")), "temporary key files are cleaned up"


RACE_SCRIPT = """
import sys, time
from pathlib import Path
from pwa.core.data_dir import ensure_secret_key
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(ensure_secret_key(Path(sys.argv[1])))
"""


def test_processes_racing_to_create_the_secret_key_agree(tmp_path):
    # Eight processes wait for the same instant, then all try to create the key.
    start_at = str(time.time() + 1.5)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_SCRIPT, str(tmp_path), start_at],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    keys = {child.communicate(timeout=30)[0].strip() for child in children}
    assert all(child.returncode == 0 for child in children)
    assert keys == {(tmp_path / SECRET_KEY_FILE).read_text().strip()}


def test_secret_key_from_environment_skips_the_file(data_dir, monkeypatch):
    monkeypatch.setenv("PWA_SECRET_KEY", "k" * 64)
    app = create_app({"DATA_DIR": data_dir})
    assert app.secret_key == "k" * 64
    assert not (data_dir / SECRET_KEY_FILE).exists()


def test_config_file_then_environment(data_dir, monkeypatch):
    data_dir.mkdir()
    (data_dir / "config.toml").write_text(
        'clinic_name = "Harbour Skin Clinic"\n'
        'content_reviewer = "Dr A. Example, dermatologist"\n'
        "content_reviewed_on = 2026-10-01\n"
    )
    app = create_app({"DATA_DIR": data_dir})
    assert app.config["CLINIC_NAME"] == "Harbour Skin Clinic"
    assert app.config["CONTENT_REVIEWED_ON"] == date(2026, 10, 1)

    monkeypatch.setenv("PWA_CLINIC_NAME", "Dockside Clinic")
    monkeypatch.setenv("PWA_CONTENT_REVIEWED_ON", "2026-11-02")
    app = create_app({"DATA_DIR": data_dir})
    assert app.config["CLINIC_NAME"] == "Dockside Clinic"
    assert app.config["CONTENT_REVIEWED_ON"] == date(2026, 11, 2)


@pytest.mark.parametrize(
    ("file_text", "env", "message"),
    [
        ('clinc_name = "typo"\n', {}, "unknown setting 'clinc_name'"),
        ("clinic_name = [unclosed\n", {}, "not valid TOML"),
        ("clinic_name = 42\n", {}, "clinic_name: must be text"),
        (
            "",
            {"PWA_CONTENT_REVIEWED_ON": "next tuesday"},
            "PWA_CONTENT_REVIEWED_ON: must be a date",
        ),
        ("", {"PWA_CLINIC_NAME": "x" * 81}, "PWA_CLINIC_NAME: must be at most 80"),
        ('content_reviewer = "Dr B"\n', {}, "CONTENT_REVIEWED_ON: required"),
    ],
)
def test_bad_settings_stop_the_app_with_a_clear_message(
    data_dir, monkeypatch, file_text, env, message
):
    data_dir.mkdir()
    (data_dir / "config.toml").write_text(file_text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app({"DATA_DIR": data_dir})


def test_trusted_proxy_makes_links_use_the_public_address(data_dir, monkeypatch):
    from flask import url_for

    monkeypatch.setenv("PWA_TRUSTED_PROXIES", "1")
    app = create_app({"DATA_DIR": data_dir})

    @app.get("/where")
    def where():
        return url_for("settings.join", _external=True)

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "clinic.example"}
    assert app.test_client().get("/where", headers=headers).text == (
        "https://clinic.example/settings/join"
    )
    plain = create_app({"DATA_DIR": data_dir, "TRUSTED_PROXIES": 0})
    plain.add_url_rule("/where", view_func=lambda: url_for("settings.join", _external=True))
    assert plain.test_client().get("/where", headers=headers).text.startswith("http://localhost")
