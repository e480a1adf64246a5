"""`/health/`: whether this web replica can serve, for a load balancer and for monitoring.

    {"status": "ok" | "degraded" | "down", "database": "ok" | "down", "broker": "ok" | "down",
     "workers": <how many Celery workers answered a ping>}

- "down", HTTP 503: the database does not answer. Nothing works; take the replica out.
- "degraded", HTTP 200: the database answers, but the broker does not or no worker answered.
  Pages, case files and downloads still work (letters wait in the queue, or are queued again
  by the sweep), so a load balancer keeps the replica; monitoring should alert.
- "ok", HTTP 200: all three.

Anyone may call it, so it says nothing more: no host names, versions or error texts (those go
to the server's log). The broker connection and the worker ping cost a round trip each and up
to a second: their result is kept for CACHE_SECONDS per process, so that calling the endpoint
in a loop cannot load the broker or the workers. The database check is one `SELECT 1` on the
connection the process keeps anyway.
"""

import contextlib
import logging
import threading
import time
from pathlib import Path

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app

logger = logging.getLogger(__name__)

PATH = "/health/"
CACHE_SECONDS = 5
BROKER_TIMEOUT = 1  # seconds, to connect and for each socket operation
PING_TIMEOUT = 1  # seconds to wait for the workers' answers

_lock = threading.Lock()
_cached: tuple[float, bool, int] | None = None  # (monotonic expiry, broker up, workers)


def database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health: the database does not answer (%s)", type(exc).__name__)
        return False
    return True


def _check_broker_and_workers() -> tuple[bool, int]:
    options = {
        **app.conf.broker_transport_options,
        "socket_connect_timeout": BROKER_TIMEOUT,
        "socket_timeout": BROKER_TIMEOUT,
    }
    try:
        with app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT, transport_options=options
        ) as conn:
            conn.ensure_connection(max_retries=0)  # one attempt, no back-off
            try:
                replies = app.control.ping(timeout=PING_TIMEOUT, connection=conn)
            except Exception as exc:  # the broker went away between the two steps
                logger.warning("health: the worker ping failed (%s)", type(exc).__name__)
                return True, 0
    except Exception as exc:  # kombu and redis raise their own connection errors
        logger.warning("health: the broker does not answer (%s)", type(exc).__name__)
        return False, 0
    workers = {name for reply in replies for name in reply}
    if app.conf.broker_url.startswith("filesystem://"):
        _forget_unanswered_pings(Path(options["data_folder_in"]))
    return True, len(workers)


def _forget_unanswered_pings(folder: Path) -> None:
    """kombu's filesystem transport (the embedded mode) keeps the control binding of every
    worker node that ever ran, and writes each ping as a file for each of them: those of nodes
    gone for good would pile up in the queue folder, which workers list every 0.1 s. A running
    worker reads its pings at once; one that is a minute old will never be answered."""
    cutoff = time.time() - 60
    for path in folder.glob("*.pidbox.msg"):
        with contextlib.suppress(OSError):  # taken by a worker meanwhile
            if path.stat().st_mtime < cutoff:
                path.unlink()


def broker_and_workers() -> tuple[bool, int]:
    """(broker up, number of workers that answered), at most CACHE_SECONDS old."""
    global _cached
    with _lock:  # concurrent calls wait for the one check instead of each making their own
        if _cached is None or _cached[0] <= time.monotonic():
            broker, workers = _check_broker_and_workers()
            _cached = (time.monotonic() + CACHE_SECONDS, broker, workers)
        return _cached[1], _cached[2]


def forget() -> None:
    """Drop the cached broker and worker result (tests)."""
    global _cached
    with _lock:
        _cached = None


@login_not_required
@require_safe
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    database = database_up()
    broker, workers = broker_and_workers()
    if not database:
        status = "down"
    elif broker and workers:
        status = "ok"
    else:
        status = "degraded"
    response = JsonResponse(
        {
            "status": status,
            "database": "ok" if database else "down",
            "broker": "ok" if broker else "down",
            "workers": workers,
        },
        status=200 if database else 503,
    )
    # Answered before SecurityMiddleware and the CSP middleware: the headers a JSON answer needs.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return response


class HealthCheckMiddleware:
    """Answers `/health/` ahead of every other middleware: before the host name is checked
    against ALLOWED_HOSTS, before the redirect to HTTPS, without a session. A load balancer or
    a container health check calls a replica by its address, over plain HTTP; the answer is the
    same fixed, anonymous JSON whatever the Host header says. First in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == PATH:
            return health(request)
        return self.get_response(request)
