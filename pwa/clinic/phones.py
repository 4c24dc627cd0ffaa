"""A client's phones as the console tells them apart: by browser and system, and by when
each was linked and last synced, in the clinic's time zone.

The name is the one the API recorded from the phone's User-Agent when it was linked
(sync/devices.readable_name, with ua-parser): "Chrome Mobile on Android".  No Flask here.
"""

from __future__ import annotations

from . import clinic_time

# A phone linked before names were kept, or whose browser said nothing usable.
UNNAMED = "A phone (its browser was not recorded)"


def described(devices: list[dict], zone: str, now_ms: int) -> list[dict]:
    """Each device with `label`, `linked` and `synced` in words, and `summary` in one line:
    "Chrome Mobile on Android · linked Mon 7 Dec, 14:05 · last synced today 09:12"."""
    return [_described(device, zone, now_ms) for device in devices]


def _described(device: dict, zone: str, now_ms: int) -> dict:
    label = device.get("name") or UNNAMED
    linked = clinic_time.spoken(device["added_ms"], zone, now_ms)
    synced = clinic_time.spoken(device["last_seen_ms"], zone, now_ms)
    return {
        **device,
        "label": label,
        "linked": linked,
        "synced": synced,
        "summary": f"{label} · linked {linked} · last synced {synced}",
    }
