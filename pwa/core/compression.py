"""Compressed responses (Brotli, else gzip) straight from the app.

Phones on weak signal pay for every byte of the first visit, when the service
worker downloads the whole app; a proxy in front may compress instead, but
the app does not rely on one.
"""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
]


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    # Below about 500 bytes the headers cost more than compression saves.
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    Compress(app)
