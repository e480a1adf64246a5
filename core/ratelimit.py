"""Rate limits of the public pages, counted in the shared cache (CACHES: Redis in production,
the database in the embedded mode), so that every process and every replica counts together,
per real client address (core.net)."""

import logging

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from core.net import client_ip

logger = logging.getLogger(__name__)


def over_limit(request: HttpRequest, *, scope: str, limit: int, window: int) -> bool:
    """Count this request of its client in `scope`; True once the client has sent more than
    `limit` of them in the current window of `window` seconds (fixed windows: a client gets at
    most twice the limit across a window boundary).

    A cache that does not answer lets the request through (and says so in the log): a limit
    that cannot be counted must not take the public pages down with it."""
    bucket = int(timezone.now().timestamp()) // window
    key = f"rate:{scope}:{client_ip(request) or '-'}:{bucket}"
    try:
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired or evicted between add() and incr()
            cache.set(key, 1, timeout=window)
            count = 1
    except Exception as error:  # a cache server that is down or times out
        logger.warning("rate limit %s not counted, cache unavailable: %s", scope, error)
        return False
    return count > limit
