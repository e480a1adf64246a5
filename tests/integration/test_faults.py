"""Faults, each against private servers that the test may stop and restart: a pool process
killed mid-batch, the whole worker killed, Redis restarted mid-batch, PostgreSQL restarted
while pages are served.

Each test has its own Redis (nothing kept on disk, as in production) and its own PostgreSQL
cluster, a copy of one migrated once per session (tests/integration/services.py), a real
Celery worker (tests/integration/helpers.py `CeleryWorker`, the prefork pool of the Redis
mode) and, for the PostgreSQL restart, gunicorn. Pristan's own steps (starting a batch, the
requeue sweep as beat sends it, the final checks) run as processes of their own against the
private servers (tests/integration/fault_app.py); this process watches the letters through a
plain PostgreSQL connection and the queue through a Redis one.

After each fault:
- every letter is issued with a number, consecutive, none missing or twice, and the register's
  last number is the batch size;
- every letter was rendered exactly once: one stored PDF per letter, whose SHA-256 is the one
  recorded, a render count of 1 per letter, and, across every worker's log, exactly one
  successful render ('ready') per letter;
- the worker (a new one, when it was killed) and the web server serve again with nobody
  touching them; letters whose message was lost are sent again by the requeue sweep, which
  beat runs every minute (here sent once, as beat would, after the time it waits is made to
  have passed).

They take a few minutes, so they run in the PostgreSQL + Redis run of the suite (`.ci/run`'s
first `make test`); elsewhere set PRISTAN_FAULT_TESTS=1 to run them.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration import services
from tests.integration.helpers import (
    BASE_DIR,
    READY,
    RENDERING,
    CeleryWorker,
    freeze_mid_render,
    kill_pool_mid_render,
    kill_worker_mid_render,
    thaw,
    wait_until,
    worker_pool_options,
)

RUN_FAULTS = os.environ.get("PRISTAN_FAULT_TESTS") == "1" or not (
    settings.CELERY_BROKER_URL.startswith("filesystem://")
)
pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not RUN_FAULTS,
        reason="fault tests run with Redis (the PostgreSQL + Redis run), or PRISTAN_FAULT_TESTS=1",
    ),
    pytest.mark.skipif(
        bool(services.binaries_missing()), reason=f"missing: {services.binaries_missing()}"
    ),
]

SIZE = 24
APP_TIMEOUT = 180
RENDERED = re.compile(r"render_letters\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: 'ready'")


class Stack:
    """Private Redis and PostgreSQL, a worker, a web server if started, and how to look at
    them."""

    def __init__(self, tmp_path: Path, pg_template: services.PostgresServer):
        self.tmp_path = tmp_path
        self.redis = services.RedisServer(tmp_path / "redis")
        self.pg = pg_template.copy()
        self.media_root = tmp_path / "private"
        self.media_root.mkdir()
        self.env = services.app_env(
            database_url=self.pg.url,
            broker_url=self.redis.url,
            var_dir=tmp_path / "var",
            media_root=self.media_root,
        )
        self.log_dir = tmp_path / "logs"
        self.log_dir.mkdir()
        self.worker = CeleryWorker(self.env, self.log_dir, worker_pool_options(self.redis.url))
        self.web: subprocess.Popen | None = None
        self.web_port = 0
        self.web_log = self.log_dir / "gunicorn.log"
        self._ready_at_start: dict[int, int] = {}

    def start(self) -> "Stack":
        self.redis.start()
        self.pg.start()
        self.worker.start()
        return self

    def stop(self) -> None:
        for step in (self.stop_web, self.worker.stop, self.redis.stop, self.pg.remove):
            try:
                step()
            except Exception as error:  # the others must still be stopped
                print(f"teardown: {step.__qualname__}: {error!r}")

    # -- Pristan's own steps, as processes of their own ---------------------------------------

    def app(self, *args) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "tests.integration.fault_app", *map(str, args)],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=APP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        lines = result.stdout.strip().splitlines()
        answer = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        assert result.returncode == 0 and "error" not in answer, (
            f"fault_app {' '.join(map(str, args))} failed ({result.returncode}): "
            f"{answer.get('error')}\n{result.stdout}\n{result.stderr[-3000:]}"
        )
        return answer

    # -- looking at the letters and the queue -------------------------------------------------

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.pg.port, user="postgres", dbname="pristan",
            connect_timeout=3,
        ) as conn:  # fmt: skip
            return conn.execute(query, params).fetchall()

    def states(self, batch_id: int) -> dict:
        rows = self.sql(
            "SELECT render_status, count(*) FROM letters_letter WHERE batch_id = %s GROUP BY 1",
            batch_id,
        )
        return dict(rows)

    def ids(self, batch_id: int, status: str) -> set[int]:
        rows = self.sql(
            "SELECT id FROM letters_letter WHERE batch_id = %s AND render_status = %s",
            batch_id,
            status,
        )
        return {row[0] for row in rows}

    def queued(self) -> int:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.redis.port, socket_timeout=3)
        try:
            return client.llen("celery")
        finally:
            client.close()

    def describe(self, batch_id: int):
        def description() -> str:
            try:
                states = self.states(batch_id)
            except Exception as error:
                states = f"(database: {type(error).__name__})"
            return f"batch {batch_id}: letters by render status {states}\n{self.logs(40)}"

        return description

    def rendered_in_logs(self, paths=None) -> int:
        """Successful renders ('ready') in the logs of the workers (all of them by default)."""
        return sum(
            len(RENDERED.findall(path.read_text(errors="replace")))
            for path in (self.worker.log_paths if paths is None else paths)
        )

    def logs(self, lines: int = 80) -> str:
        web = ""
        if self.web_log.exists():
            web = "\n".join(self.web_log.read_text(errors="replace").splitlines()[-lines:])
            web = f"\n--- {self.web_log} ---\n{web}"
        return f"{self.worker.tail(lines)}{web}\n{self.redis.tail(10)}\n{self.pg.tail(15)}"

    # -- waiting ------------------------------------------------------------------------------

    def wait_ready(self, batch_id: int, timeout: float = 300) -> None:
        wait_until(
            lambda: self.states(batch_id).get(READY, 0) == SIZE,
            timeout=timeout,
            message=self.describe(batch_id),
        )

    def wait_idle(self, batch_id: int, lost: set[int] = frozenset(), timeout: float = 300):
        """Until the worker has rendered everything it can: nothing queued, and no letter being
        rendered but those in `lost` (claimed by a dead worker), for two looks a second
        apart."""

        def idle():
            if self.states(batch_id).get(READY, 0) == SIZE:
                return True
            return self.queued() == 0 and not self.ids(batch_id, RENDERING) - lost

        def idle_for_a_second():
            if not idle():
                return False
            time.sleep(1)
            return idle()

        wait_until(idle_for_a_second, timeout=timeout, message=self.describe(batch_id))

    def assert_rendered_once(self, batch_id: int, *, logged_from: int = 0) -> dict:
        """The checks of fault_app `check`, and one successful render per letter in the
        workers' logs. A worker SIGKILLed at once with its pool may have stored a letter
        without logging it: then only the logs of the workers from the `logged_from`-th on,
        which must show one render for each letter not yet ready when they started, count."""
        result = self.app("check", batch_id)
        assert len(result["numbers"]) == SIZE
        logged = self.rendered_in_logs(self.worker.log_paths[logged_from:])
        assert logged == SIZE - self.ready_before(logged_from), (logged, self.logs())
        return result

    def ready_before(self, worker_index: int) -> int:
        return self._ready_at_start.get(worker_index, 0)

    def restart_worker(self, batch_id: int) -> None:
        """A new worker; how many letters were ready when it started is noted."""
        self._ready_at_start[len(self.worker.log_paths)] = self.states(batch_id).get(READY, 0)
        self.worker.restart()

    # -- the web server -----------------------------------------------------------------------

    def start_web(self) -> None:
        self.web_port = services.free_port(range(56000, 56379))
        self._web_log_file = self.web_log.open("wb")
        self.web = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2", "--threads", "2",
                "--timeout", "60", "--graceful-timeout", "5",
                "--access-logfile", "-", "--error-logfile", "-",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._web_log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_until(
            lambda: self.web.poll() is None and self.get("/accounts/login/")[0] == 200,
            timeout=60,
            message=lambda: f"gunicorn to answer (exit code {self.web.poll()})\n{self.logs()}",
        )

    def stop_web(self) -> None:
        if self.web is None:
            return
        if self.web.poll() is None:
            self.web.terminate()
            try:
                self.web.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.web.pid, signal.SIGKILL)
                self.web.wait()
        self._web_log_file.close()
        self.web = None

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, str]:
        request = urllib.request.Request(  # noqa: S310 (loopback, our own server)
            f"http://127.0.0.1:{self.web_port}{path}", headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, {}, ""


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    """One migrated PostgreSQL cluster for the session, stopped; each test runs a copy."""
    template = services.migrated_template(tmp_path_factory.mktemp("pg-template"))
    yield template
    template.remove()


@pytest.fixture
def stack(request, pg_template, tmp_path):
    stack = Stack(tmp_path, pg_template)
    try:
        stack.start()
        yield stack
    finally:
        failed = any(
            getattr(getattr(request.node, f"report_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        logs = stack.logs() if failed else ""
        stack.stop()
        if failed:
            print(f"\nLogs of the worker, the web server, Redis and PostgreSQL:\n{logs}")


def test_pool_process_killed_mid_batch(stack):
    """The pool processes are SIGKILLed, one of them in the middle of a letter, the other idle
    (out of memory, a crash in a C library). The worker's main process lives: the lost task
    goes back on the queue (task_reject_on_worker_lost), new pool processes take it and the
    rest, and the redelivered task takes back its own claim on the letter."""
    batch = stack.app("batch", SIZE)["batch"]
    at_kill = kill_pool_mid_render(stack.worker, lambda: stack.states(batch), stack.describe(batch))
    assert at_kill.get(READY, 0) < SIZE

    stack.wait_ready(batch)
    assert stack.worker.process.poll() is None  # the same worker, never restarted
    stack.assert_rendered_once(batch)


def test_whole_worker_killed_and_restarted(stack):
    """The machine dies: the worker and its pool processes are SIGKILLed at once, a letter half
    rendered. A new worker renders what is still queued; the letters the dead one had taken
    from the queue wait until the sweep sends them again, and their stale claims are taken
    over."""
    batch = stack.app("batch", SIZE)["batch"]
    kill_worker_mid_render(stack.worker, lambda: stack.states(batch), stack.describe(batch))
    lost = stack.ids(batch, RENDERING)
    assert lost
    stack.restart_worker(batch)

    stack.wait_idle(batch, lost)
    waiting = SIZE - stack.states(batch).get(READY, 0)
    assert waiting >= len(lost)  # the claimed letters at least: their messages died with it
    sent = stack.app("sweep")
    assert sent["pending"] + sent["claimed"] == waiting

    stack.wait_ready(batch)
    stack.assert_rendered_once(batch, logged_from=1)  # the new worker's log


def test_redis_restarted_mid_batch(stack):
    """Redis restarts in the middle of a batch and comes back empty (it keeps nothing on
    disk): every queued message is gone. The worker reconnects by itself; the letters it was
    rendering are finished; the others wait, issued and numbered, until the sweep sends them
    again."""
    batch = stack.app("batch", SIZE)["batch"]
    _, frozen = freeze_mid_render(stack.worker, lambda: stack.states(batch), stack.describe(batch))
    try:
        queued = stack.queued()
        stack.redis.restart()
    finally:
        thaw(frozen)
    assert queued > 0  # messages were lost
    assert stack.queued() == 0

    stack.wait_idle(batch)
    assert stack.states(batch).get(READY, 0) < SIZE
    sent = stack.app("sweep")  # through the new Redis: only a reconnected worker gets it
    assert sent["pending"] > 0 and sent["claimed"] == 0

    stack.wait_ready(batch)
    assert stack.worker.process.poll() is None  # the same worker, never restarted
    stack.assert_rendered_once(batch)


PAGE_DOWN = "The database is not answering just now"


def test_postgresql_restarted_while_pages_are_served(stack):
    """PostgreSQL restarts while gunicorn serves pages and the worker renders a batch. While it
    is down every page is a calm 503 page in the browser's language, with Retry-After and no
    traceback; once it is back the very next requests are answered (connections are checked
    before use, CONN_HEALTH_CHECKS), and the worker, never restarted, finishes the batch."""
    stack.start_web()
    batch_info = stack.app("batch", SIZE)
    batch = batch_info["batch"]
    cookie = {"Cookie": f"{batch_info['cookie_name']}={batch_info['cookie']}"}
    # A letter takes ~0.1 s, a batch of 24 about 2 s: catch the middle of it with the worker
    # frozen, check that pages are served, stop PostgreSQL, then let the worker go on into a
    # database that is gone.
    _, frozen = freeze_mid_render(stack.worker, lambda: stack.states(batch), stack.describe(batch))
    try:
        status, _, page = stack.get("/", cookie)
        assert status == 200 and "Dashboard" in page, page[:500]
        assert stack.get(f"/letters/batches/{batch}/", cookie)[0] == 200
        stack.pg.stop("fast")
    finally:
        thaw(frozen)
    try:
        for path, headers in [
            ("/", cookie),
            ("/", {**cookie, "Accept-Language": "ru"}),
            (f"/letters/batches/{batch}/", cookie),
            ("/v/not-a-token/", {}),  # the public verification page, anonymous
            ("/", cookie),
        ]:
            status, response_headers, text = stack.get(path, headers)
            assert status == 503, (path, status, text[:300])
            assert response_headers.get("Retry-After") == "30"
            assert 'lang="ru"' in text if "Accept-Language" in headers else PAGE_DOWN in text
            assert "Traceback" not in text and "OperationalError" not in text, text
    finally:
        stack.pg.start()

    for path in ["/", f"/letters/batches/{batch}/", "/", "/", "/letters/register/", "/"]:
        status, _, text = stack.get(path, cookie)
        assert status == 200, (path, status, text[:300], stack.logs())

    stack.wait_idle(batch)
    if stack.states(batch).get(READY, 0) < SIZE:
        stack.app("sweep")  # a task that gave up while the database was down
    stack.wait_ready(batch)
    assert stack.worker.process.poll() is None  # the same worker, never restarted
    stack.assert_rendered_once(batch)
    assert stack.get("/", cookie)[0] == 200
