"""/health/ for load balancers and monitoring: database, broker, workers; nothing else.

The broker is the one this test run is configured with (Redis, or the filesystem queue of the
embedded mode); a broker that is down is one on a closed loopback port. A worker answering the
ping is tested with real workers in tests/integration/test_multihost.py."""

import json
import os
import socket
import time

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from config import health
from config.celery import app

pytestmark = pytest.mark.django_db

KEYS = {"status", "database", "broker", "workers"}


@pytest.fixture(autouse=True)
def fresh_health():
    health.forget()
    yield
    health.forget()


def get_health(client, **extra):
    response = client.get("/health/", **extra)
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response, json.loads(response.content)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch):
    """The app's broker connections go to a closed port (CELERY_BROKER_URL in the environment
    would win over a changed setting)."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    connection_for_write = app.connection_for_write
    monkeypatch.setattr(
        app, "connection_for_write", lambda url_=None, **kwargs: connection_for_write(url, **kwargs)
    )


def test_url_is_public_and_named():
    assert reverse("health") == health.PATH


def test_database_and_broker_up_is_200(client):
    response, data = get_health(client)

    assert response.status_code == 200
    assert set(data) == KEYS
    assert data["database"] == "ok"
    assert data["broker"] == "ok"
    assert isinstance(data["workers"], int)
    # No worker runs in this test; one left over elsewhere on the same broker would answer.
    assert data["status"] == ("ok" if data["workers"] else "degraded")


def test_database_down_is_503_and_says_nothing_more(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" (10.1.2.3) refused')

    monkeypatch.setattr(connection, "cursor", refuse)

    response, data = get_health(client)

    assert response.status_code == 503
    assert data["status"] == "down"
    assert data["database"] == "down"
    assert set(data) == KEYS
    assert b"db.internal" not in response.content and b"10.1.2.3" not in response.content


def test_broker_down_is_degraded_but_200(client, broker_down):
    response, data = get_health(client)

    assert response.status_code == 200
    assert data == {"status": "degraded", "database": "ok", "broker": "down", "workers": 0}
    assert b"127.0.0.1" not in response.content


def test_broker_and_workers_are_checked_once_per_cache_period(client, monkeypatch):
    calls = []

    def check():
        calls.append(1)
        return True, 2

    monkeypatch.setattr(health, "_check_broker_and_workers", check)

    for _ in range(5):
        response, data = get_health(client)
        assert data == {"status": "ok", "database": "ok", "broker": "ok", "workers": 2}

    assert len(calls) == 1
    health.forget()
    get_health(client)
    assert len(calls) == 2


def test_answers_a_load_balancer_by_address_over_plain_http(client, settings, monkeypatch):
    """Before ALLOWED_HOSTS and the HTTPS redirect: a probe calls the replica by its address."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["pristan.example.org"]
    monkeypatch.setattr(health, "_check_broker_and_workers", lambda: (True, 1))

    response, data = get_health(client, HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert data["status"] == "ok"
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # only /health/


def test_reads_only(client, monkeypatch):
    monkeypatch.setattr(health, "_check_broker_and_workers", lambda: (True, 1))
    assert client.post("/health/").status_code == 405
    assert client.head("/health/").status_code == 200


def test_anonymous_and_signed_in_callers_see_the_same(client, caseworker, monkeypatch):
    monkeypatch.setattr(health, "_check_broker_and_workers", lambda: (True, 1))
    _, anonymous = get_health(client)
    client.force_login(caseworker)
    _, signed_in = get_health(client)
    assert anonymous == signed_in


def test_embedded_mode_forgets_pings_no_worker_will_read(tmp_path):
    """The filesystem queue writes each ping for every node that ever ran, dead ones too."""
    old = tmp_path / "1_a.test-dead@host.celery.pidbox.msg"
    fresh = tmp_path / "2_b.alpha@host-a.celery.pidbox.msg"
    task = tmp_path / "1_c.celery.msg"
    for path in (old, fresh, task):
        path.write_text("{}")
    os.utime(old, (time.time() - 120, time.time() - 120))
    os.utime(task, (time.time() - 120, time.time() - 120))

    health._forget_unanswered_pings(tmp_path)

    assert not old.exists()
    assert fresh.exists() and task.exists()
