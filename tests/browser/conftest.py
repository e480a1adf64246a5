"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's
live_server.

Playwright's own browser download is not used: the tests launch /usr/bin/chromium (installed by
`make test`, through scripts/system-deps.sh). A missing Chromium fails the tests, it does not
skip them.

The journeys that need PDFs made in the background ask for `celery_worker_process`, the real
Celery worker of tests/conftest.py, which tests/integration uses too.
"""

import os
from pathlib import Path

import pytest

from tests.browser.helpers import BASE_DIR, DESKTOP

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = BASE_DIR / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it. Install it with "
            "`make system-deps-test` (apt-get install chromium) or run the suite with `make test`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM, used by the test
    # itself, refuses to run while one is running unless told that this is deliberate.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site_url(live_server) -> str:
    """The live server's address with the host name "localhost": Chromium treats it as a secure
    context, so it keeps the Secure session and CSRF cookies (the test settings have
    DEBUG=False, hence SESSION_COOKIE_SECURE=True) over plain http."""
    return live_server.url.replace("://127.0.0.1:", "://localhost:")


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def new_page(browser):
    """new_page(viewport, storage_state=None, **options): a page in a fresh browser context,
    English UI unless `locale` says otherwise (locale="ru-RU": Accept-Language ru)."""
    contexts = []

    def make(viewport=DESKTOP, storage_state=None, **options):
        options.setdefault("locale", "en-GB")
        context = browser.new_context(viewport=viewport, storage_state=storage_state, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def _shipped_defaults(request):
    """The deadline rules and procedures a data migration ships, put back before each browser
    test: a transactional test that ran before it may have emptied their tables."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from casework.defaults import load_defaults
    from casework.models import ChecklistItem, DeadlineRule, Procedure

    load_defaults(DeadlineRule, Procedure, ChecklistItem)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The live server runs in this process and counts requests per address in the local-memory
    cache (emergency lock, verification page): every browser test starts with clean counters."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
