"""Sessions: idle and absolute limits, log out everywhere, deactivation, password change,
cookies and caching."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.signals import LOGIN_AT_SESSION_KEY
from casework.models import AccessEvent
from tests.accounts.helpers import log_in, signed_in
from tests.factories import PASSWORD

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Moves django.utils.timezone.now() (sessions, the middleware and the log all use it)."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta):
            self.now += timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def test_sessions_expire_after_30_idle_minutes_and_activity_extends_them(client, user, clock):
    log_in(client, user)
    for _ in range(4):  # two hours, with a request every 29 minutes
        clock.advance(minutes=29)
        assert signed_in(client)

    clock.advance(minutes=31)

    assert not signed_in(client)


def test_sessions_end_12_hours_after_login_however_active(client, user):
    log_in(client, user)
    session = client.session
    session[LOGIN_AT_SESSION_KEY] = (timezone.now() - timedelta(hours=11, minutes=59)).timestamp()
    session.save()
    assert signed_in(client)

    session = client.session
    session[LOGIN_AT_SESSION_KEY] = (timezone.now() - timedelta(hours=12, seconds=1)).timestamp()
    session.save()
    response = client.get(reverse("casework:case_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert SESSION_KEY not in client.session
    assert not signed_in(client)


def test_the_absolute_limit_holds_with_activity_every_few_minutes(client, user, clock):
    log_in(client, user)
    for _ in range(12 * 60 // 25):
        clock.advance(minutes=25)
        assert signed_in(client)

    clock.advance(minutes=25)

    assert not signed_in(client)


def test_a_session_without_login_time_is_ended(client, user):
    log_in(client, user)
    session = client.session
    del session[LOGIN_AT_SESSION_KEY]
    session.save()

    assert not signed_in(client)


def test_log_out_everywhere_ends_every_session_of_the_user(user, colleague):
    laptop, phone, other = Client(), Client(), Client()
    log_in(laptop, user)
    log_in(phone, user, steps=1)
    other.force_login(colleague)

    response = laptop.post(reverse("accounts:logout_everywhere"))

    assert response["Location"] == reverse("login")
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert signed_in(other)
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.SECURITY, user=user, object_type="sessions"
    ).exists()


def test_administrator_logs_a_user_out_everywhere_from_the_admin(client, user, admin_user):
    victim = Client()
    victim.force_login(user)
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "log_out_everywhere", "_selected_action": [user.pk]},
    )

    assert response.status_code == 302
    assert not signed_in(victim)
    assert signed_in(client)
    entry = AccessEvent.objects.get(action=AccessEvent.Action.SECURITY, object_type="sessions")
    assert entry.user == admin_user and entry.object_id == str(user.pk)


def test_deactivating_a_user_ends_their_sessions_at_once(client, user):
    client.force_login(user)
    assert signed_in(client)

    user.is_active = False
    user.save()

    assert not signed_in(client)


def test_password_change_keeps_this_session_and_ends_the_others(user):
    here, elsewhere = Client(), Client()
    here.force_login(user)
    elsewhere.force_login(user)

    response = here.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-password-2026",
            "new_password2": "a-new-long-password-2026",
        },
    )

    assert response["Location"] == reverse("accounts:password_change_done")
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.SECURITY, user=user, object_type="password"
    ).exists()


def test_security_page_links_to_new_recovery_codes(client, user):
    log_in(client, user)
    page = client.get(reverse("accounts:security"))
    assert page.status_code == 200
    assert reverse("accounts:logout_everywhere") in page.content.decode()
    assert reverse("accounts:recovery_codes") in page.content.decode()

    # Making them needs the password and a code again (tests/accounts/test_second_factors.py).
    response = client.get(reverse("accounts:recovery_codes"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_authenticated_pages_are_not_stored(client, user):
    log_in(client, user)

    for url in (reverse("casework:case_list"), reverse("accounts:security")):
        assert "no-store" in client.get(url)["Cache-Control"]


def test_cookies_are_host_prefixed_and_secure_without_debug(client, user):
    assert settings.SESSION_COOKIE_NAME == "__Host-sessionid"
    assert settings.CSRF_COOKIE_NAME == "__Host-csrftoken"

    log_in(client, user)

    cookie = client.cookies["__Host-sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
    assert not cookie["domain"]
    assert int(cookie["max-age"]) == 30 * 60
    client.get(reverse("login"))
    csrf = client.cookies["__Host-csrftoken"]
    assert csrf["secure"] and csrf["path"] == "/" and not csrf["domain"]


def _production_env(**extra) -> dict:
    keys = subprocess.run(
        [sys.executable, "scripts/generate-keys.py"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PRISTAN_"))}
    env.update(line.split("=", 1) for line in keys.split())
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PRISTAN_IGNORE_DOTENV="1",
        PRISTAN_VAR_DIR=os.environ.get("PRISTAN_VAR_DIR", str(BASE_DIR / "var" / "test")),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 20 + "production-like-secret-key-for-the-check-0123456789",
        DJANGO_ALLOWED_HOSTS="pristan.example.org",
        # A production server sends real mail (the default, console, fails the check).
        DJANGO_EMAIL_BACKEND="smtp",
    )
    env.update(extra)
    return env


def test_deploy_check_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_two_factor_cannot_be_configured_away():
    # The settings have no switch for it: with debug on or off, the middleware is there.
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print('accounts.middleware.SessionSecurityMiddleware' in settings.MIDDLEWARE, "
        "'django_otp.middleware.OTPMiddleware' in settings.MIDDLEWARE, "
        "settings.SESSION_COOKIE_NAME)"
    )
    for debug in ("0", "1"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=BASE_DIR,
            env=_production_env(DJANGO_DEBUG=debug),
            capture_output=True,
            text=True,
            check=True,
        )
        cookie = "__Host-sessionid" if debug == "0" else "sessionid"
        assert result.stdout.split() == ["True", "True", cookie]


# --- The idle clock: polling does not move it, and it is saved at most once a minute ---------


def _expiry(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_polling_does_not_extend_the_idle_timeout(client, user, clock):
    log_in(client, user)
    for _ in range(14):  # a page left open, polling every 2 minutes for 28 minutes
        clock.advance(minutes=2)
        response = client.get(reverse("casework:case_list"), headers={"Pristan-Poll": "1"})
        assert response.status_code == 200

    clock.advance(minutes=3)

    assert not signed_in(client)


def test_the_idle_clock_is_enforced_whatever_the_store_expiry(client, user, clock):
    from accounts.signals import ACTIVE_AT_SESSION_KEY

    log_in(client, user)
    session = client.session
    session[ACTIVE_AT_SESSION_KEY] = (timezone.now() - timedelta(minutes=31)).timestamp()
    session.save()  # the stored session itself is fresh

    response = client.get(reverse("casework:case_list"))

    assert response["Location"].startswith(reverse("login"))
    assert not signed_in(client)
    entry = AccessEvent.objects.get(object_type="session_end")
    assert (entry.user, entry.object_id) == (user, "idle")


def test_the_session_is_saved_only_when_the_idle_clock_moves_a_minute(client, user, clock):
    log_in(client, user)
    saved = _expiry(client)

    clock.advance(seconds=50)
    assert signed_in(client)
    assert _expiry(client) == saved  # not saved: the clock moved less than a minute

    clock.advance(seconds=20)
    assert signed_in(client)
    assert _expiry(client) == saved + timedelta(seconds=70)

    clock.advance(seconds=90)
    client.get(reverse("casework:case_list"), headers={"Pristan-Poll": "1"})
    assert _expiry(client) == saved + timedelta(seconds=70)  # a poll saves nothing


def test_every_polling_element_says_so():
    """Each hx-trigger="every …" in the templates sends the polling header, or its requests
    would keep an abandoned session alive."""
    tags = [
        (path, tag)
        for path in (BASE_DIR / "templates").rglob("*.html")
        for tag in re.findall(r"<[^<>]*hx-trigger=\"every [^<>]*>", path.read_text())
    ]

    assert tags  # the letter and batch pages poll
    for path, tag in tags:
        assert 'hx-headers=\'{"Pristan-Poll": "1"}\'' in tag, path


@pytest.mark.parametrize(
    ("cache_url", "engine", "backend"),
    [
        ("", "django.contrib.sessions.backends.db", "django.core.cache.backends.db.DatabaseCache"),
        (
            "redis://redis:6379/1",
            "accounts.sessions",
            "django.core.cache.backends.redis.RedisCache",
        ),
    ],
)
def test_with_a_cache_server_sessions_use_the_cached_database_engine(cache_url, engine, backend):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from django.contrib.sessions.backends.cached_db import SessionStore; "
        "from django.utils.module_loading import import_string; "
        "store = import_string(settings.SESSION_ENGINE + '.SessionStore'); "
        "print(settings.SESSION_ENGINE, settings.CACHES['default']['BACKEND'], "
        "issubclass(store, SessionStore), settings.SESSION_SAVE_EVERY_REQUEST)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_production_env(CACHE_URL=cache_url),
        capture_output=True,
        text=True,
        check=True,
    )

    cached = str(engine == "accounts.sessions")
    assert result.stdout.split() == [engine, backend, cached, "False"]


def test_a_cache_server_that_does_not_answer_leaves_sessions_working(user, settings):
    """accounts.sessions against a Redis nobody listens on: login, pages and logout carry on
    from the database (Django's own cached_db would fail every signed-in page)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    settings.SESSION_ENGINE = "accounts.sessions"
    client = Client()

    log_in(client, user)
    assert signed_in(client)
    client.post(reverse("logout"))

    assert not signed_in(client)
