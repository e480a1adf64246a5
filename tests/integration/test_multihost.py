"""Workers on two hosts render one batch together.

Two `celery worker` processes with different host names (`alpha@host-a`, `beta@host-b`: one
machine here, two in production) share what several hosts would share: the broker and the
database of this test run (Redis and PostgreSQL, or in the embedded mode the folder queue and
SQLite, which only one machine can share), the encryption keys, and the file store, an
S3-compatible bucket (moto's S3 server, an emulator: tests/s3.py). Nothing else: each has its
own working folder (PRISTAN_VAR_DIR) and its own log.

Who rendered what is read from the workers' own logs: Celery logs each task it finished, with
its id, and each letter records the id of the task that rendered it (render_task_id).
"""

import hashlib
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from config import health
from core import crypto
from letters.models import Letter, Register
from tests import s3
from tests.integration.helpers import (
    CeleryWorker,
    database_url_for_worker,
    progress,
    purge_broker,
    ready_count,
    start_batch,
    wait_until,
    worker_pool_options,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NODES = ("alpha@host-a", "beta@host-b")
RENDERED = re.compile(
    r"Task letters\.tasks\.render_letters\[([0-9a-f-]+)\] succeeded in [^:]*: 'ready'"
)


class NamedWorker(CeleryWorker):
    """A CeleryWorker with a node name of our choosing instead of a random one."""

    def __init__(self, node: str, env: dict, log_dir: Path, pool_options: list[str]):
        super().__init__(env, log_dir, pool_options, node=node)

    def rendered_task_ids(self) -> list[str]:
        """Ids of the render tasks this worker finished with a stored PDF, from its log."""
        return RENDERED.findall(self.log_path.read_text(errors="replace"))


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3.s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def shared_bucket(s3_endpoint, settings):
    """One bucket for this process and both workers, as several hosts would share it."""
    bucket = s3.create_bucket(s3_endpoint)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage_s3.EncryptedS3Storage",
            "OPTIONS": s3.storage_options(s3_endpoint, bucket),
        },
    }
    return s3_endpoint, bucket


@pytest.fixture
def two_hosts(request, transactional_db, monkeypatch, shared_bucket, tmp_path):
    """`alpha@host-a` and `beta@host-b`, running; stopped at teardown."""
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    purge_broker()
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    workers = []
    for node in NODES:
        var_dir = tmp_path / node.split("@")[1]  # a host's own working folder
        var_dir.mkdir()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DATABASE_URL": database_url_for_worker(),
            "PYTHONUNBUFFERED": "1",
            **s3.storage_env(*shared_bucket),
        }
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            # The embedded mode's queue lives in the var folder; both must use this run's.
            env["PRISTAN_VAR_DIR"] = str(settings.VAR_DIR)
        else:
            env["PRISTAN_VAR_DIR"] = str(var_dir)
        workers.append(
            NamedWorker(node, env, log_dir, worker_pool_options(settings.CELERY_BROKER_URL))
        )
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        purge_broker()
        call = getattr(request.node, "report_call", None)
        if call is not None and call.failed:
            for worker in workers:
                print(f"\n{worker.node} log (tail):\n{worker.tail()}")


def test_two_hosts_render_one_batch_together(two_hosts, shared_bucket, client):
    from config.celery import app

    alpha, beta = two_hosts
    endpoint, bucket = shared_bucket

    # Both answer the control ping (over Redis, or the filesystem queue's control folder), and
    # the health endpoint counts them.
    replies = app.control.ping(timeout=2)
    assert {name for reply in replies for name in reply} == set(NODES)
    health.forget()
    assert client.get("/health/").json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "workers": 2,
    }

    size = 40
    batch, _ = start_batch(size)
    wait_until(
        lambda: ready_count(batch) == size,
        timeout=240,
        message=lambda: progress(batch, alpha) + "\n" + beta.tail(40),
    )

    # Each host rendered some of the letters, and no letter was rendered by both.
    letters = list(batch.letters.order_by("sequence"))
    by_alpha, by_beta = alpha.rendered_task_ids(), beta.rendered_task_ids()
    assert by_alpha and by_beta, (len(by_alpha), len(by_beta))
    assert len(by_alpha) + len(by_beta) == size
    assert sorted(by_alpha + by_beta) == sorted(letter.render_task_id for letter in letters)

    # Every letter rendered exactly once, numbered without gaps or duplicates.
    assert all(letter.status == Letter.Status.ISSUED for letter in letters)
    assert all(letter.render_attempts == 1 for letter in letters)
    sequences = [letter.sequence for letter in letters]
    assert sequences == list(range(1, size + 1))
    assert len({letter.number for letter in letters}) == size
    assert Register.objects.get(pk=letters[0].register_id).last_number == size

    # One encrypted object per letter in the shared bucket; each decrypts to the PDF whose
    # hash the letter recorded.
    objects = s3.raw_objects(endpoint, bucket)
    assert sorted(objects) == sorted(letter.pdf.name for letter in letters)
    for letter in letters:
        assert objects[letter.pdf.name].startswith(crypto.FILE_MAGIC)
        with default_storage.open(letter.pdf.name, "rb") as f:
            pdf = f.read()
        assert pdf.startswith(b"%PDF-")
        assert hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256
