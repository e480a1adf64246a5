"""Integration tests run a real Celery worker: the `celery_worker_process` fixture (in
tests/conftest.py, which the browser journeys share) switches eager mode off, empties the broker
queue and starts `celery -A config worker` as a subprocess against the test database of the
running test (which must be transactional, so that what the test writes is committed and visible
to the worker). It uses the pool `make run` uses with the same broker (`WORKER_POOL` in
tests/integration/helpers.py). The worker is always stopped at teardown, with every process it
started.

Override the `worker_env` fixture in a test module to give the worker extra environment
variables (an email backend, a broker option).
"""

import pytest


@pytest.fixture
def media_root(tmp_path, settings):
    """A storage root of this test's own, for the worker and for this process alike."""
    root = tmp_path / "private"
    root.mkdir()
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default.get("OPTIONS", {}), "location": root}},
    }
    return root
