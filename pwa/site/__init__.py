"""The client's pages: one blueprint per area, each a short set of views.

- `today.py`: Today (the day's checklist) and the schedule it is drawn from.
- `sessions.py`: the treatment series and its calendar feed.
- `learn.py` and `explainer.py`: the plain-language explainer pages, from
  `content/` (and a clinic's own), every claim citing the source registry.
- `settings.py`: reminders, devices, export and delete, installing the app.
"""
