"""The JSON API a phone syncs through, and the device credentials it rests on.

- `api.py`: the `/api` blueprint (plans, sync, devices, join, export, feeds, push).
- `api_schema.py`: checks request bodies against `openapi.json`, the one
  description of the API.
- `devices.py`: device credentials, join links and their QR codes (no Flask).
"""
