"""Gunicorn settings for `make run` (and any deployment that starts gunicorn with `-c`).

HOST, PORT, WORKERS and DATA_DIR come from the environment.  The master
process builds the app once in `on_starting`, before any worker exists: that
creates the data folder, its secret key and the VAPID key exactly once, and a
bad setting or a broken clinic content file stops the server with one clear
line instead of every worker failing to boot; it also compiles the rules that name
a phone's browser, which the workers then share.  Once the server is up, the
master starts one reminder scheduler process beside the workers (REMINDERS=0
turns it off, e.g. where cron runs `flask reminders send-due` instead).
"""

import os
import subprocess
import sys

wsgi_app = "pwa:create_app()"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", "3"))
accesslog = "-"
# The request path without its query string: calendar feed keys travel in the
# query, and secrets do not belong in logs.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
# Threaded workers: a browser's idle or speculative connection then waits in the
# worker's poller instead of holding a whole sync worker until `timeout` (with a
# few sync workers and no proxy in front, two preconnected sockets stalled every
# other request for 30 s).  Several threads per worker also serve slow phones.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
timeout = 30
graceful_timeout = 10
# No control socket: nothing here uses gunicornc, and its default path is shared by every
# gunicorn of the same user, so two instances on one host would take each other's.
control_socket_disable = True


def on_starting(server):
    from pwa import create_app
    from pwa import storage
    from pwa.care.protocol import ProtocolError
    from pwa.core.config import ConfigError
    from pwa.site.explainer import ContentError

    try:
        app = create_app()
        storage.check_schema(app.config)
    except (ConfigError, ContentError, ProtocolError, storage.SchemaOutOfDate) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    server.log.info("Data folder: %s", app.config["DATA_DIR"])
    from pwa.sync.devices import prepare_names

    prepare_names()
    # What writes cut short by a crash or a kill left behind; the data is safe without it.
    removed = app.extensions["plans"].housekeeping()
    if removed:
        server.log.info("Removed %d leftovers of interrupted writes", removed)
    storage.close_connections()


def when_ready(server):
    if os.environ.get("REMINDERS", "1") == "0":
        return
    every = os.environ.get("REMINDERS_EVERY", "60")
    command = [sys.executable, "-m", "flask", "--app", "pwa", "reminders", "run", "--every", every]
    server.reminder_scheduler = subprocess.Popen(command, env=os.environ.copy())
    server.log.info("Reminder scheduler started (pid %d)", server.reminder_scheduler.pid)


def on_exit(server):
    scheduler = getattr(server, "reminder_scheduler", None)
    if scheduler is not None and scheduler.poll() is None:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=5)
        except subprocess.TimeoutExpired:
            scheduler.kill()
