"""The practitioner's side: the console, its sign-in and the accounts behind it.

- `console.py`: the console's blueprint (clients, plans handed over by QR code).
- `console_auth.py`: sign-in, two-step codes, sign-out, the console's guard.
- `console_account.py`: a practitioner's own password and two-step settings.
- `accounts.py`: password rules and hashing, console-session clocks (no Flask).
"""
