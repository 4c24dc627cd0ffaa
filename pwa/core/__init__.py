"""What every area of the app stands on: configuration, errors, headers and the CLI.

- `config.py`: settings from the environment and the data folder, checked at start.
- `data_dir.py`: the data folder and what is created in it once, before workers.
- `errors.py`, `headers.py`, `compression.py`, `templating.py`: the app-wide
  error answers, security headers (CSP with hashes), compression and template
  globals.
- `links.py`: absolute links (PUBLIC_URL).
- `rate_limits.py` and `counters.py`: per-address and per-plan limits, counted where
  every worker sees them.
- `sealed.py`: secrets sealed at rest (two-step secrets).
- `cli.py`: `flask --app pwa …` commands (reminders, practitioner, plans).
"""
