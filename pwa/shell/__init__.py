"""The installable app shell: what makes the pages an app that opens offline.

- `app_shell.py`: the `shell` blueprint (the service worker at /sw.js, the web
  manifest, the offline page, the clinic's brand files) and the helpers pages use
  to inline and hash their boot script and stylesheet.
- `precache.py`: the service worker's precache list, with content-hash revisions.
- `web_manifest.py`: the web app manifest.
- `branding.py`: a clinic's name, colours and logo, checked for AA contrast.
"""
