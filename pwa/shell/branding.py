"""A clinic's branding: an accent colour that keeps WCAG AA contrast, and a logo file.

The accent colour is used for links, headings of cards and button faces, so
it must reach 4.5:1 against the app's backgrounds and against the text drawn
on it; a colour that does not is refused at start-up with the measured
ratios.  No Flask here.
"""

from __future__ import annotations

import re
from pathlib import Path

from .web_manifest import THEME_DARK
from .web_manifest import THEME_LIGHT

AA_TEXT = 4.5
HEX = re.compile(r"#[0-9a-fA-F]{6}")
# Each scheme's backgrounds (page and card) and the text colour buttons use on the accent,
# as in static/css/app.css.
SCHEMES = {
    "light": {"backgrounds": (THEME_LIGHT, "#ffffff"), "on_accent": "#ffffff"},
    "dark": {"backgrounds": (THEME_DARK, "#1c2024"), "on_accent": "#0b1f1d"},
}
LOGO_TYPES = {".png": "image/png", ".webp": "image/webp", ".svg": "image/svg+xml"}
MAX_LOGO_BYTES = 200 * 1024


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def check_accent(color: str, scheme: str) -> str:
    """The colour, lower-cased, if it passes AA in `scheme`; ValueError with the ratios if not."""
    if not isinstance(color, str) or not HEX.fullmatch(color.strip()):
        raise ValueError("must be a colour written #rrggbb")
    color = color.strip().lower()
    rules = SCHEMES[scheme]
    pairs = [
        (background, f"the {scheme} background {background}") for background in rules["backgrounds"]
    ]
    pairs.append((rules["on_accent"], f"button text {rules['on_accent']}"))
    for other, what in pairs:
        ratio = contrast(color, other)
        if ratio < AA_TEXT:
            raise ValueError(
                f"{color} has contrast {ratio:.2f}:1 with {what}; WCAG AA needs {AA_TEXT}:1"
            )
    return color


def check_logo(data_dir: Path, name: str) -> Path:
    """The logo file in the data folder: PNG, WebP or SVG, at most 200 KB."""
    path = (data_dir / name).resolve()
    if path.parent != data_dir.resolve():
        raise ValueError("must be a file name in the data folder")
    if path.suffix.lower() not in LOGO_TYPES:
        raise ValueError("must be a .png, .webp or .svg file")
    if not path.is_file():
        raise ValueError(f"no file {path}")
    if path.stat().st_size > MAX_LOGO_BYTES:
        raise ValueError(f"{path} is larger than {MAX_LOGO_BYTES // 1024} KB")
    return path


def stylesheet(accent_light: str, accent_dark: str) -> str:
    """CSS that swaps the accent in (served as /brand.css: the CSP allows no inline style)."""
    rules = []
    if accent_light:
        rules.append(f":root {{\n  --accent: {accent_light};\n}}\n")
    if accent_dark:
        rules.append(
            "@media (prefers-color-scheme: dark) {\n"
            f"  :root {{\n    --accent: {accent_dark};\n  }}\n}}\n"
        )
    return "\n".join(rules) or "/* No clinic accent colour configured. */\n"


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
