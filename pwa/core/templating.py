"""What every template can use: the app's names, the review status, and date formatting."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask import current_app
from flask import request
from markupsafe import Markup

from ..shell import app_shell
from ..shell import web_manifest

# (endpoint, label, icon) for the bottom navigation, in display order.
NAV_ITEMS = (
    ("today.index", "Today", "today"),
    ("sessions.index", "Sessions", "sessions"),
    ("learn.index", "Learn", "learn"),
    ("settings.index", "Settings", "settings"),
)


def init_app(app: Flask) -> None:
    app.context_processor(template_globals)
    app.add_template_filter(long_date)


def template_globals() -> dict:
    config = current_app.config
    return {
        "app_name": config["APP_NAME"],
        "clinic_name": config["CLINIC_NAME"],
        "clinic_phone": config["CLINIC_PHONE"],
        "clinic_whatsapp": config["CLINIC_WHATSAPP"],
        "clinic_booking_url": config["CLINIC_BOOKING_URL"],
        "content_reviewer": config["CONTENT_REVIEWER"],
        "content_reviewed_on": config["CONTENT_REVIEWED_ON"],
        "nav_items": NAV_ITEMS,
        "stylesheet": Markup(app_shell.inline_text(app_shell.STYLESHEET)),
        "theme_light": config["ACCENT_COLOR"] or web_manifest.THEME_LIGHT,
        "has_logo": config["LOGO_PATH"] is not None,
        # Only a clinic with its own colours pays for a second render-blocking stylesheet.
        "has_brand_colours": app_shell.has_brand_colours(),
        "theme_dark": web_manifest.THEME_DARK,
        "workbox_window_url": app_shell.workbox_url("workbox-window.prod.mjs"),
        # Today has its own entry module, started by its inline boot script
        # (templates/today/boot.js), and only Today preloads its modules: elsewhere
        # they would compete with the page's own first paint.
        **(_today_scripts() if request.endpoint == "today.index" else {"today_entry": None}),
        "pages_entry": app_shell.pages_entry(),
    }


def _today_scripts() -> dict:
    return {
        "today_entry": app_shell.today_entry(),
        "boot_script": Markup(app_shell.inline_text(app_shell.BOOT_SCRIPT)),
        "first_paint_script": Markup(app_shell.inline_text(app_shell.FIRST_PAINT_SCRIPT)),
        "module_urls": app_shell.module_urls(),
    }


def long_date(value: date) -> str:
    """26 November 2026: unambiguous wherever the reader lives."""
    return f"{value.day} {value:%B %Y}"
