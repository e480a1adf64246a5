"""Rate limits count in the shared cache, per real client: two clients behind one proxy each
get their own budget, and a second process (a second gunicorn worker, a second replica) spends
from the same one. The other process here is a real one: a Python subprocess with its own
Django, its own connection to the same test database, and the same cache."""

import datetime
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from core import ratelimit
from letters.views import VERIFY_RATE

BASE_DIR = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.2"
CLIENT_A, CLIENT_B = "198.51.100.1", "198.51.100.2"
VERIFY_URL = reverse("verify", kwargs={"token": "NOSUCHTOKEN"})

# The other process: the same settings (test settings on the test database), the same cache,
# the same frozen clock, and a number of requests per client through the proxy.
OTHER_PROCESS = textwrap.dedent(
    """
    import datetime, json, sys
    from types import SimpleNamespace
    import django
    django.setup()
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment
    from core import ratelimit

    job = json.loads(sys.argv[1])
    setup_test_environment()
    frozen = datetime.datetime.fromtimestamp(job["now"], tz=datetime.UTC)
    ratelimit.timezone = SimpleNamespace(now=lambda: frozen)
    statuses = {}
    with override_settings(CACHES=job["caches"], PRISTAN_TRUSTED_PROXIES=[job["proxy"]]):
        client = Client(REMOTE_ADDR=job["proxy"])
        for address, count in job["requests"].items():
            statuses[address] = [
                client.get(job["url"], HTTP_X_FORWARDED_FOR=address).status_code
                for _ in range(count)
            ]
    print(json.dumps(statuses))
    """
)


def _database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _in_other_process(*, caches: dict, now: float, requests: dict[str, int]) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
    }
    job = {"caches": caches, "now": now, "requests": requests, "proxy": PROXY, "url": VERIFY_URL}
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(job)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _caches(kind: str) -> dict:
    if kind == "database":
        return {"default": dict(settings.CACHES["default"])}
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        pytest.skip("no Redis here (CELERY_BROKER_URL is not redis://)")
    # The broker's Redis, under a prefix of this test's own: nothing else is touched (and
    # nothing is cleared: that would empty the broker's database).
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker,
            "KEY_PREFIX": f"ratelimit-test-{uuid.uuid4().hex}",
        }
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("kind", ["database", "redis"])
def test_two_clients_behind_one_proxy_have_their_own_limits_shared_across_processes(
    kind, monkeypatch
):
    caches = _caches(kind)
    now = timezone.now().replace(second=30).timestamp()  # one fixed-window minute for both
    frozen = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: frozen))
    with override_settings(CACHES=caches, PRISTAN_TRUSTED_PROXIES=[PROXY]):
        if kind == "database":
            cache.clear()  # the table outlives this test's database flush
        try:
            # The other process spends 20 of A's 30 requests a minute and 5 of B's.
            other = _in_other_process(caches=caches, now=now, requests={CLIENT_A: 20, CLIENT_B: 5})
            assert other == {CLIENT_A: [404] * 20, CLIENT_B: [404] * 5}

            proxy = Client(REMOTE_ADDR=PROXY)
            a = [
                proxy.get(VERIFY_URL, HTTP_X_FORWARDED_FOR=CLIENT_A).status_code for _ in range(11)
            ]
            b = [
                proxy.get(VERIFY_URL, HTTP_X_FORWARDED_FOR=CLIENT_B).status_code for _ in range(26)
            ]
            # A third client that writes A's address before its own (the proxy appends) is
            # still itself, with a budget of its own.
            spoofing = proxy.get(VERIFY_URL, HTTP_X_FORWARDED_FOR=f"{CLIENT_A}, 198.51.100.3")
        finally:
            if kind == "database":
                cache.clear()

    assert a == [404] * (VERIFY_RATE - 20) + [429]
    assert b == [404] * (VERIFY_RATE - 5) + [429]
    assert spoofing.status_code == 404


@pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.db.DatabaseCache",
    reason="CACHE_URL is set: the cache is not a table",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migrate_creates_the_database_cache_table():
    """Wherever `migrate` runs (make run, the compose migrate service, a new test database),
    the embedded mode's cache table is made with it."""
    from django.core.management import call_command

    table = settings.CACHES["default"]["LOCATION"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")

    call_command("migrate", verbosity=0)

    assert table in connection.introspection.table_names()
    cache.set("rate:probe", 1)
    assert cache.get("rate:probe") == 1
