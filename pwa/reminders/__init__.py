"""Session reminders: what is due, and the ways it reaches a phone.

- `due.py`: which reminders are due for a plan now (from the series, the ticks and
  the device's preferences), in plain functions.
- `calendar_feed.py`: the plan's sessions as an iCalendar feed.
- `push.py`: Web Push (the VAPID key, sending); `push_checks.py`: the contact,
  the push-service allow-list and the subscription, checked before any request.
- `notify.py`: a reminder round: each due reminder sent once, plans side by side.
"""
