"""The session store when there is a cache server (CACHE_URL, settings.SESSION_ENGINE).

Django's cached_db: a session is read from the cache and written through to the database, which
stays the truth. Django's own raises when the cache server does not answer while it puts a
session read from the database back into the cache, checks whether a new key exists or deletes
a session; this one logs and carries on from the database instead, so that a Redis outage
slows pages down (the socket timeouts of CACHES) but does not take the signed-in site down."""

import logging

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # down, or a key the backend refuses: the database has it
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if stored is None:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception as error:
            logger.warning("session not cached, cache unavailable: %s", type(error).__name__)
        return data

    def exists(self, session_key):
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception as error:
            logger.warning("session cache not checked, cache unavailable: %s", error)
        return DBStore.exists(self, session_key)

    def delete(self, session_key=None):
        DBStore.delete(self, session_key)
        session_key = session_key or self.session_key
        if session_key is None:
            return
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as error:
            # The database row is gone (logout holds); the cached copy expires with the idle
            # timeout at the latest.
            logger.error("ended session left in the cache, cache unavailable: %s", error)
