"""What the integration tests share: a real `celery worker` subprocess (`CeleryWorker`, started
for a test by the `celery_worker_process` fixture of tests/conftest.py), waiting for a condition,
catching a worker in the middle of a batch, and starting and checking a batch of letters."""

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from casework.models import Authority, Membership
from letters.models import Batch, Letter, LetterTemplate, Register
from letters.tasks import prepare_batch
from tests.factories import make_case, make_organisation, make_user

BASE_DIR = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60
STOP_TIMEOUT = 10


def worker_pool_options(broker_url: str) -> list[str]:
    """The pool scripts/run-dev.sh (`make run`) gives the worker for this broker; keep the two
    in step.

    With kombu's filesystem transport (the embedded mode) Celery runs its synchronous loop and
    billiard's blocking prefork pool, whose processes share one task pipe behind one lock: a
    pool process killed while idle leaves the lock held, and the worker then takes tasks but never
    runs them. The solo pool runs one task at a time in the worker process itself; concurrency 1
    also makes the worker take one message at a time from the queue (prefetch multiplier 1).
    Redis gets AsynPool, one pipe per pool process, which survives the death of one."""
    if broker_url.startswith("filesystem://"):
        return ["--pool", "solo", "--concurrency", "1"]
    return ["--pool", "prefork", "--concurrency", "2"]


# "solo" or "prefork": the worker's pool with the broker of this test run.
WORKER_POOL = worker_pool_options(settings.CELERY_BROKER_URL)[1]


def wait_until(predicate, timeout=90, interval=0.5, message=None):
    """Call `predicate` until it returns something truthy, and return that.

    Raises AssertionError after `timeout` seconds; `message` (a string, or a callable returning
    one, called at that moment so it can describe the state) says what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            what = message() if callable(message) else message
            what = what or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(interval)


def database_url_for_worker() -> str:
    """The URL of the database this test is using (the test database, not the configured one)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or ""
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError(f"a worker process cannot share the in-memory database {name!r}")
        return f"sqlite:///{Path(name).resolve()}"
    raise RuntimeError(f"no DATABASE_URL for a {connection.vendor} test database")


def purge_broker() -> None:
    """Empty the queue, including messages a killed worker left unacknowledged (Redis)."""
    from config.celery import app

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for folder in {options["data_folder_in"], options["data_folder_out"]}:
            for path in Path(folder).glob("*.msg"):
                path.unlink(missing_ok=True)
        return
    app.control.purge()
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            # kombu's Redis transport keeps delivered, unacknowledged messages here and puts
            # them back on the queue after the visibility timeout: left over from a worker that
            # an earlier test killed, they would turn up in this one.
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)


def _copy_with_timestamps(source, target) -> None:
    for line in iter(source.readline, b""):
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d} "
        try:
            target.write(stamp.encode() + line)
        except ValueError:  # the log file was closed
            break
    source.close()


class CeleryWorker:
    """One `celery worker` at a time; `restart()` starts a new one (a new node name, unless
    `node` names it, e.g. "alpha@host-a")."""

    def __init__(self, env: dict, log_dir: Path, pool_options: list[str], node: str | None = None):
        self.env = env
        self.log_dir = log_dir
        self.pool_options = pool_options
        self.node = node
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.log_paths: list[Path] = []
        self._log_file = None
        self._log_thread = None

    # -- starting and stopping ----------------------------------------------------------------

    def start(self, extra_env: dict | None = None) -> "CeleryWorker":
        if extra_env:
            self.env = {**self.env, **extra_env}
        node = self.node or f"test-{uuid.uuid4().hex[:10]}@%h"
        self.log_path = self.log_dir / f"worker-{node.replace('@', '-').replace('%', '')}.log"
        self.log_paths.append(self.log_path)
        self._log_file = self.log_path.open("wb", buffering=0)
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            *self.pool_options, "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", node,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group, so that teardown can reach pool processes orphaned by a
            # SIGKILL of the main process.
            start_new_session=True,
        )
        # The worker's log lines carry no time (Django's console handler has no formatter):
        # copy them to the log file with the time they were written.
        self._log_thread = threading.Thread(
            target=_copy_with_timestamps,
            args=(self.process.stdout, self._log_file),
            daemon=True,
        )
        self._log_thread.start()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the Celery worker exited with code {self.process.returncode} before it was "
                    f"ready; its log ({self.log_path}):\n{self.tail()}"
                )
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the Celery worker was not ready after {READY_TIMEOUT} s; its log ({self.log_path}):"
            f"\n{self.tail()}"
        )

    def children(self) -> list[int]:
        """Process ids of the worker's pool processes (its direct children); none with the solo
        pool, which runs tasks in the main process."""
        if self.process is None or self.process.poll() is not None:
            return []
        pids = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                pids += [int(pid) for pid in children.read_text().split()]
            except FileNotFoundError:
                continue
        return sorted(set(pids))

    def kill_children(self, sig=signal.SIGKILL) -> list[int]:
        """Signal the pool processes only ("a worker process died"); returns their ids."""
        pids = self.children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pids

    def kill(self, sig=signal.SIGKILL, *, whole_group: bool = False) -> None:
        """Signal the main worker process, or with `whole_group` the main process and its pool
        processes at once (SIGKILL: the machine or container died)."""
        if self.process is not None and self.process.poll() is None:
            if whole_group:
                os.killpg(self.process.pid, sig)  # its own process group: see start()
            else:
                self.process.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
                try:
                    self.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()

    def stop(self) -> None:
        """SIGTERM (warm shutdown: running tasks finish), SIGKILL after STOP_TIMEOUT seconds; then
        SIGKILL whatever is left of its process group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self._log_thread is not None:
            self._log_thread.join(timeout=5)
            self._log_thread = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self, extra_env: dict | None = None) -> "CeleryWorker":
        """Stop this worker if it still runs (gracefully), and start a new one."""
        self.stop()
        return self.start(extra_env)

    # -- looking at it ------------------------------------------------------------------------

    def tail(self, lines: int = 80) -> str:
        chunks = []
        for path in self.log_paths:
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except FileNotFoundError:
                text = ["(no log)"]
            chunks.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(chunks)


# -- catching a worker in the middle of a batch ----------------------------------------------
#
# `states` is a function returning the batch's letters by render status ({"ready": 3, …}),
# `describe` one returning a description of the progress for a timeout's message.

READY, RENDERING = "ready", "rendering"


def waits_for_a_task(pid: int) -> bool | None:
    """Whether a (stopped) pool process was blocked reading a pipe: waiting for its next task.
    None if the kernel does not say."""
    try:
        syscall = Path(f"/proc/{pid}/syscall").read_text().split()
        if syscall[0] != "0":  # read(2)
            return False
        return os.readlink(f"/proc/{pid}/fd/{int(syscall[1], 16)}").startswith("pipe:")
    except (OSError, IndexError, ValueError):
        return None


def _signal_all(pids, sig) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_pool_mid_render(worker, states, describe, *, timeout=120) -> dict:
    """SIGKILL the pool processes at a moment when a few letters are ready, one pool process is
    rendering a letter and the other is idle, waiting for its next task.

    To catch that moment the pool processes are frozen (SIGSTOP) and looked at; if it is not the
    moment they are let go (SIGCONT) and looked at again a little later."""

    def mid_batch():
        children = worker.children()
        if len(children) < 2:
            return None
        _signal_all(children, signal.SIGSTOP)
        now = states()
        waiting = [waits_for_a_task(pid) for pid in children]
        if (
            now.get(READY, 0) >= 3
            and now.get(RENDERING, 0) >= 1
            and (any(waiting) or None in waiting)
        ):
            return now, children
        _signal_all(children, signal.SIGCONT)
        return None

    now, children = wait_until(mid_batch, timeout=timeout, interval=0.02, message=describe)
    _signal_all(children, signal.SIGKILL)
    return now


def freeze_mid_render(worker, states, describe, *, timeout=120) -> tuple[dict, list[int]]:
    """Freeze (SIGSTOP) the worker's main process and its pool processes at a moment when a few
    letters are ready and one is being rendered; returns the states then and the frozen
    processes, which the caller kills or lets go (`thaw`)."""

    def mid_batch():
        pids = [worker.process.pid, *worker.children()]
        _signal_all(pids, signal.SIGSTOP)
        # A statement the worker sent just before it stopped still runs in the database (its
        # letter's READY update, say): let it land before the states are read, or the letter
        # counted "being rendered" here is ready a moment later.
        time.sleep(0.2)
        now = states()
        if now.get(READY, 0) >= 3 and now.get(RENDERING, 0) >= 1:
            return now, pids
        _signal_all(pids, signal.SIGCONT)
        return None

    return wait_until(mid_batch, timeout=timeout, interval=0.02, message=describe)


def thaw(pids) -> None:
    _signal_all(pids, signal.SIGCONT)


def kill_worker_mid_render(worker, states, describe, *, timeout=120) -> dict:
    """SIGKILL the worker's main process and its pool processes, if any, all at once (the machine
    died) at a moment when a few letters are ready and one is being rendered."""
    now, _ = freeze_mid_render(worker, states, describe, timeout=timeout)
    worker.kill(signal.SIGKILL, whole_group=True)
    return now


# -- a batch of letters for the worker -------------------------------------------------------


def start_batch(size: int) -> tuple[Batch, Membership]:
    org = make_organisation()
    coordinator = make_user(organisation=org, role=Membership.Role.COORDINATOR, username="coord")
    cases = [make_case(organisation=org) for _ in range(size)]
    authority = Authority.objects.filter(code="ofpra").first() or Authority.objects.create(
        code="ofpra-test",
        short_name="OFPRA",
        name="Office français de protection des réfugiés et apatrides",
        kind=Authority.Kind.ASYLUM_OFFICE,
        country="FR",
        address="201 rue Carnot\n94136 Fontenay-sous-Bois",
        language="fr",
    )
    template = LetterTemplate.objects.create(
        name="Attestation courte",
        kind=LetterTemplate.Kind.CONFIRMATION,
        language="fr",
        subject="Attestation",
        body="Madame, Monsieur,\n\nNous accompagnons {{ client.full_name }} dans ses démarches.",
    )
    batch = Batch.objects.create(
        organisation=org,
        template=template,
        authority=authority,
        language="fr",
        case_ids=[case.pk for case in cases],
        created_by=coordinator,
    )
    prepare_batch.delay(batch.pk)
    return batch, coordinator


def progress(batch: Batch, worker) -> str:
    batch.refresh_from_db()
    states = {}
    for status in batch.letters.values_list("render_status", flat=True):
        states[status or "none"] = states.get(status or "none", 0) + 1
    return (
        f"all {len(batch.case_ids)} letters of batch {batch.pk} ready; batch is {batch.status!r}"
        f" {batch.error!r}, letters by render status: {states}\nworker log:\n{worker.tail(40)}"
    )


def ready_count(batch: Batch) -> int:
    return Letter.objects.filter(batch=batch, render_status=Letter.RenderStatus.READY).count()


def stored_pdfs(media_root: Path) -> list[Path]:
    return sorted(p for p in (media_root / "letters").rglob("*") if p.is_file())


def assert_rendered_once(batch: Batch, media_root: Path, size: int) -> list[Letter]:
    letters = list(batch.letters.order_by("sequence"))
    assert len(letters) == size
    assert all(letter.status == Letter.Status.ISSUED for letter in letters)
    assert all(letter.render_status == Letter.RenderStatus.READY for letter in letters)
    # Consecutive numbers from the register, none used twice.
    sequences = [letter.sequence for letter in letters]
    assert sequences == list(range(sequences[0], sequences[0] + size))
    assert len({letter.number for letter in letters}) == size
    register = Register.objects.get(pk=letters[0].register_id)
    assert register.last_number == sequences[-1] == size  # a new organisation's register
    # One stored PDF per letter, nothing else, and each is the one whose hash was recorded.
    files = stored_pdfs(media_root)
    assert len(files) == size, [p.name for p in files]
    by_letter = {int(p.name.split("-", 1)[0]): p for p in files}
    assert sorted(by_letter) == sorted(letter.pk for letter in letters)
    for letter in letters:
        assert Path(letter.pdf.path) == by_letter[letter.pk]
        with letter.pdf.open("rb") as f:  # through the storage, which may decrypt
            data = f.read()
        assert data.startswith(b"%PDF-")
        assert hashlib.sha256(data).hexdigest() == letter.pdf_sha256
        assert letter.pdf_size == len(data)
    return letters
