"""The web app manifest as data: names, colours, icons, screenshots and shortcuts.

No Flask here: the caller passes functions that turn a static file name or an
endpoint into a URL.
"""

from __future__ import annotations

from collections.abc import Callable

# Light and dark backgrounds of static/css/app.css; a test keeps them in step.
THEME_LIGHT = "#f6f4f1"
THEME_DARK = "#121517"
DESCRIPTION = (
    "Day-by-day microneedling aftercare, session reminders and plain-language help on "
    "pigmentation. Works offline."
)
ICONS = (
    ("icons/icon-192.png", "192x192", "any"),
    ("icons/icon-512.png", "512x512", "any"),
    ("icons/icon-maskable-512.png", "512x512", "maskable"),
)
SCREENSHOTS = (("screenshots/today-narrow.png", "780x1688", "narrow", "Today's aftercare"),)
SHORTCUTS = (("Today", "today.index"), ("Sessions", "sessions.index"), ("Learn", "learn.index"))
SHORTCUT_ICON = ("icons/icon-192.png", "192x192")


def build(
    app_name: str,
    clinic_name: str,
    static_url: Callable[[str], str],
    page_url: Callable[..., str],
    theme_color: str = THEME_LIGHT,
) -> dict:
    """The manifest for this deployment, ready for JSON."""
    return {
        "id": "/",
        "name": f"{app_name} · {clinic_name}" if clinic_name else app_name,
        "short_name": app_name[:12],
        "description": DESCRIPTION,
        "lang": "en",
        "dir": "ltr",
        "start_url": page_url("today.index", source="pwa"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": theme_color,
        "background_color": THEME_LIGHT,
        "categories": ["health", "medical", "lifestyle"],
        "icons": [
            {"src": static_url(src), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for src, sizes, purpose in ICONS
        ],
        "screenshots": [
            {"src": static_url(src), "sizes": sizes, "type": "image/png", "form_factor": form}
            | {"label": label}
            for src, sizes, form, label in SCREENSHOTS
        ],
        "shortcuts": [
            {
                "name": label,
                "url": page_url(endpoint),
                "icons": [{"src": static_url(SHORTCUT_ICON[0]), "sizes": SHORTCUT_ICON[1]}],
            }
            for label, endpoint in SHORTCUTS
        ],
    }
