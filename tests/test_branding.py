"""Clinic branding: an accent colour kept to WCAG AA, a logo, and where they show."""

from __future__ import annotations

import pytest

from pwa import create_app
from pwa.core.config import ConfigError
from pwa.shell import branding

LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10"/></svg>'
)


def test_contrast_matches_the_wcag_formula():
    assert branding.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert branding.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("ACCENT_COLOR", "#77ddcc", "contrast 1.47:1 with the light background"),
        ("ACCENT_COLOR", "#b0b0b0", "WCAG AA needs 4.5:1"),
        ("ACCENT_COLOR", "teal", "must be a colour written #rrggbb"),
        ("ACCENT_COLOR_DARK", "#0c6b63", "the dark background"),
    ],
)
def test_an_accent_that_fails_aa_stops_the_app(data_dir, monkeypatch, setting, value, message):
    monkeypatch.setenv(f"PWA_{setting}", value)
    with pytest.raises(ConfigError, match=message):
        create_app({"DATA_DIR": data_dir})


def test_the_accent_reaches_pages_manifest_and_console(data_dir, monkeypatch):
    monkeypatch.setenv("PWA_ACCENT_COLOR", "#7a1f5c")
    monkeypatch.setenv("PWA_ACCENT_COLOR_DARK", "#f0a6d4")
    client = create_app({"DATA_DIR": data_dir}).test_client()
    css = client.get("/brand.css").text
    assert "--accent: #7a1f5c" in css and "--accent: #f0a6d4" in css
    for page in ("/", "/learn/", "/console/login"):
        assert 'href="/brand.css"' in client.get(page).text, page
    assert client.get("/manifest.webmanifest").get_json()["theme_color"] == "#7a1f5c"
    assert "/brand.css" in client.get("/sw.js").text, "precached, so it works offline"


def test_without_branding_no_extra_stylesheet_is_loaded(client):
    assert "--accent" not in client.get("/brand.css").text
    assert "/brand.css" not in client.get("/").text, "no render-blocking request for nothing"
    assert "/brand.css" not in client.get("/sw.js").text
    assert client.get("/brand/logo").status_code == 404


def test_a_logo_from_the_data_folder_shows_in_the_header(data_dir, monkeypatch):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logo.svg").write_bytes(LOGO)
    monkeypatch.setenv("PWA_LOGO_FILE", "logo.svg")
    client = create_app({"DATA_DIR": data_dir}).test_client()
    assert 'class="app-header__logo" src="/brand/logo"' in client.get("/").text
    with client.get("/brand/logo") as logo:
        assert logo.mimetype == "image/svg+xml" and logo.data == LOGO
        assert "sandbox" in logo.headers["Content-Security-Policy"]
    assert "/brand/logo" in client.get("/sw.js").text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.png", "no file"),
        ("../secret_key", "data folder"),
        ("logo.gif", ".png, .webp or .svg"),
    ],
)
def test_a_bad_logo_setting_stops_the_app(data_dir, monkeypatch, name, message):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logo.gif").write_bytes(b"GIF89a")
    monkeypatch.setenv("PWA_LOGO_FILE", name)
    with pytest.raises(ConfigError, match=message):
        create_app({"DATA_DIR": data_dir})
