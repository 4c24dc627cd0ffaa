"""Session reminders: what is due, and the ways it reaches a phone.

- `due.py`: which reminders are due for a plan now (from the series, the ticks and
  the device's preferences), in plain functions.
- `calendar_feed.py`: the plan's sessions as an iCalendar feed.
- `push.py`: Web Push (VAPID keys, the push-service allow-list, sending).
- `notify.py`: a reminder round: each due reminder sent once, plans side by side.
"""
