"""Fixtures every test can use.

Personas, after healthchecks' alice/bob/charlie: one organisation, one case assigned to
`caseworker`, and everyone else who must or must not reach it. Test clients whose logins pass
the second factor, `private_media` (a temporary private storage folder), the reference data a
flush removes, and a real Celery worker for tests/integration and tests/browser.

Plain helpers and constants are in tests/helpers.py, factories in tests/factories.py."""

import contextlib
import os
from pathlib import Path

import pytest
from axes.backends import AxesStandaloneBackend
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory

from casework.models import Membership
from tests.factories import make_case, make_organisation, make_share, make_user
from tests.helpers import otp_verify_session
from tests.integration.helpers import (
    CeleryWorker,
    database_url_for_worker,
    purge_broker,
    worker_pool_options,
)

Role = Membership.Role
_force_login = Client.force_login


def _verified_force_login(self, user, backend=None):
    _force_login(self, user, backend)
    otp_verify_session(self, user)


def _verified_login(self, **credentials) -> bool:
    # django-axes needs a request to check a password against.
    user = authenticate(RequestFactory().post("/accounts/login/"), **credentials)
    if user is None:
        return False
    self.force_login(user, backend=user.backend)
    return True


_axes_authenticate = AxesStandaloneBackend.authenticate


def _axes_authenticate_with_any_request(self, request, *args, **kwargs):
    return _axes_authenticate(self, request or RequestFactory().post("/"), *args, **kwargs)


@pytest.fixture(autouse=True)
def _password_checks_without_request(monkeypatch):
    """django-axes refuses authenticate() without a request (the login view always passes one);
    tests that only check a password, authenticate(None, …), get a blank request."""
    monkeypatch.setattr(AxesStandaloneBackend, "authenticate", _axes_authenticate_with_any_request)


@pytest.fixture(autouse=True)
def _test_client_logins_pass_two_factor(monkeypatch):
    """Every account needs a second factor (accounts.middleware ends any session without one).
    Tests about other things log in with client.force_login() or client.login(): those give a
    session already verified by a second factor. tests/accounts tests the real login steps."""
    monkeypatch.setattr(Client, "force_login", _verified_force_login)
    monkeypatch.setattr(Client, "login", _verified_login)


@pytest.fixture
def org(db):
    return make_organisation()


@pytest.fixture
def other_org(db):
    return make_organisation(name="Another NGO")


@pytest.fixture
def caseworker(org):
    """Assigned to `case`."""
    return make_user(organisation=org, role=Role.CASEWORKER, username="caseworker")


@pytest.fixture
def colleague(org):
    """A caseworker of the same organisation, not assigned to `case`."""
    return make_user(organisation=org, role=Role.CASEWORKER, username="colleague")


@pytest.fixture
def volunteer(org):
    """Assigned to `case`, but a volunteer: no special-category data, no documents."""
    return make_user(organisation=org, role=Role.VOLUNTEER, username="volunteer")


@pytest.fixture
def coordinator(org):
    return make_user(organisation=org, role=Role.COORDINATOR, username="coordinator")


@pytest.fixture
def administrator(org):
    return make_user(
        organisation=org, role=Role.ADMINISTRATOR, username="administrator", is_staff=True
    )


@pytest.fixture
def auditor(org):
    return make_user(organisation=org, role=Role.AUDITOR, username="auditor")


@pytest.fixture
def superadmin(org):
    """The administrator persona with Django's model permissions (is_superuser)."""
    return make_user(
        organisation=org,
        role=Role.ADMINISTRATOR,
        username="superadmin",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def lawyer(org):
    """A partner lawyer with an active share of `case`."""
    return make_user(organisation=org, role=Role.LAWYER, username="lawyer")


@pytest.fixture
def lawyer_without_share(org):
    return make_user(organisation=org, role=Role.LAWYER, username="lawyer2")


@pytest.fixture
def lawyer_expired(org):
    return make_user(organisation=org, role=Role.LAWYER, username="lawyer3")


@pytest.fixture
def outsider(other_org):
    """A coordinator of another organisation: sees everything there, nothing here."""
    return make_user(organisation=other_org, role=Role.COORDINATOR, username="outsider")


@pytest.fixture
def case(org, caseworker, volunteer, lawyer, lawyer_expired):
    case = make_case(organisation=org, assignees=[caseworker, volunteer])
    make_share(case=case, lawyer=lawyer, days=30)
    make_share(case=case, lawyer=lawyer_expired, days=-1)
    return case


@pytest.fixture
def other_case(org, colleague):
    """A case of the same organisation assigned only to `colleague`."""
    return make_case(
        organisation=org,
        assignees=[colleague],
        family_name="Kuznetsova",
        given_names="Alina",
        cyrillic=("Кузнецова", "Алина"),
    )


@pytest.fixture
def personas(
    caseworker, colleague, volunteer, coordinator, administrator, auditor, lawyer,
    lawyer_without_share, lawyer_expired, outsider,
):  # fmt: skip
    return {
        "caseworker": caseworker,
        "colleague": colleague,
        "volunteer": volunteer,
        "coordinator": coordinator,
        "administrator": administrator,
        "auditor": auditor,
        "lawyer": lawyer,
        "lawyer_without_share": lawyer_without_share,
        "lawyer_expired": lawyer_expired,
        "outsider": outsider,
    }


@pytest.fixture
def private_media(settings, tmp_path):
    """Uploaded files and letter PDFs go to a temporary private folder, configured the way
    production is."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    return root


@contextlib.contextmanager
def flush_past_append_only_triggers(item):
    """Let pytest-django empty the database after a transactional test.

    casework/migrations/0003_access_log_append_only.py makes casework_accessevent append-only
    with triggers: on PostgreSQL a statement-level BEFORE TRUNCATE trigger that refuses every
    TRUNCATE, even of an empty table; on SQLite BEFORE DELETE triggers. The flush that ends a
    transactional test is one TRUNCATE of every table (PostgreSQL) or a DELETE from each
    (SQLite), so it fails ("the access log is append-only (TRUNCATE refused)") and the test
    errors at teardown: on PostgreSQL always, on SQLite once the test has logged an access.
    For this test's teardown only, the triggers are set aside: PostgreSQL ignores them in the
    session (session_replication_role = replica, which needs a superuser, as CI's postgres is);
    on SQLite they are dropped and created again afterwards. The app never gets this escape:
    tests/casework/test_access_log.py checks that UPDATE and DELETE are refused."""
    from django.db import connection

    blocker = getattr(item, "funcargs", {}).get("django_db_blocker")
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(item.fixturenames)
    )
    if blocker is None or not transactional or connection.vendor not in ("postgresql", "sqlite"):
        yield
        return
    triggers = []
    with blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        # Unless the teardown closed the connection (after the session's last test it also
        # destroys the test database).
        if connection.connection is not None:
            with blocker.unblock(), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("RESET session_replication_role")
                for _, sql in triggers:
                    cursor.execute(sql)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with flush_past_append_only_triggers(item):
        return (yield)


@pytest.fixture(autouse=True)
def reference_data(request):
    """Grounds, authorities and default letter templates come from data migrations; the flush
    after a transactional test removes them for the tests that follow, so put them back
    (idempotent, two counts when they are there)."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if not uses_db:
        return
    request.getfixturevalue("transactional_db" if _is_transactional(request) else "db")
    from importlib import import_module

    from django.apps import apps

    from casework.models import Authority
    from letters.defaults import load_default_templates
    from letters.models import LetterTemplate

    if not Authority.objects.exists():
        import_module("casework.migrations.0002_reference_data").forwards(apps, None)
        import_module(
            "casework.migrations.0007_authority_kinds_and_name_reindex"
        ).update_authorities(apps, None)
    if not LetterTemplate.objects.exists():
        load_default_templates(apps)


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )


def pytest_collection_modifyitems(session, config, items):
    """Browser journeys last: they run live servers and real workers against a database file
    (SQLite in the embedded mode) that the other tests then no longer share with them."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))


# --- a real Celery worker (tests/integration, tests/browser) ------------------------------------


@pytest.fixture
def worker_env() -> dict:
    """Extra environment for the worker; override it in a test module."""
    return {}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (`item.report_call`…), so that a fixture's teardown
    knows whether the test failed: the worker fixtures then print the worker's log."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def celery_worker_process(request, transactional_db, monkeypatch, worker_env):
    """A running `celery worker` subprocess that uses this test's database and broker.

    Depends on `transactional_db`, so the worker is stopped before the database is flushed."""
    from config.celery import app

    # setitem, not setattr: pytest 9.2's monkeypatch.setattr restores an attribute that is not
    # in the instance's __dict__ by deleting it, which celery's Settings refuses.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    purge_broker()
    log_dir = Path(django_settings.VAR_DIR) / "celery" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DATABASE_URL": database_url_for_worker(),
        "PYTHONUNBUFFERED": "1",
        **worker_env,
    }
    worker = CeleryWorker(env, log_dir, worker_pool_options(django_settings.CELERY_BROKER_URL))
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        purge_broker()
        failed = any(
            getattr(getattr(request.node, f"report_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        if failed:
            print(f"\nCelery worker log (tail):\n{worker.tail()}")
