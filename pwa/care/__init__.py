"""The aftercare itself, in plain functions with no Flask and no storage.

- `protocol_file.py` reads and checks one protocol file (`protocols/` holds the
  shipped one); `protocol.py` expands protocols into day-by-day schedules and picks
  the one a plan follows.
- `sources.py`: the source registry (`sources.toml`, and a clinic's own) that every
  checklist item and explainer claim cites.
- `days.py`: a plan's day numbers in its own time zone (mirrored by
  static/js/lib/days.js; both run tests/vectors/day_numbers.json).
- `merge.py`: the tick and session merge (last writer wins), event validation and
  compaction (mirrored by static/js/lib/merge.js).
- `series.py`: the treatment series from session events (mirrored by
  static/js/lib/series.js).
- `plans.py`: what a device may send as its plan and its events.
- `adherence.py` and `readiness.py`: what the console shows about a client.
"""
