"""The reference for bench/server_load.py: the least a Flask JSON endpoint can do.

It reads a JSON body and answers a small JSON object, served by gunicorn with the
same worker count and class as the app, so the ratio of their throughputs shows
what the app's own work (auth, validation, the locked TinyDB write) costs.
"""

from __future__ import annotations

from flask import Flask
from flask import request

app = Flask(__name__)


@app.post("/sync")
def sync():
    body = request.get_json(silent=True) or {}
    return {
        "cursor": 0,
        "events": [],
        "acknowledged": [e.get("id") for e in body.get("events", [])],
    }
