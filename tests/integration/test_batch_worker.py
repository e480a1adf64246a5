"""Batches of letters rendered by a real Celery worker, including a worker killed mid-batch.

The worker has the pool `make run` gives it for the broker in use (tests/integration/helpers.py,
`worker_pool_options`): solo with the filesystem broker (the embedded mode), prefork with two
pool processes with Redis. Each mode runs at least one kill test:

- pool processes killed, the main process lives on: prefork only (the solo pool has none);
- the whole worker killed, Redis gives the lost messages back after the visibility timeout:
  Redis only (kombu's filesystem transport deletes a message when the worker receives it);
- the whole worker killed, beat's requeue_stuck_letters sweep queues the lost letters again:
  both modes.
"""

import hashlib
import io
import signal
import time
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from letters.models import Batch, Letter
from letters.services import STALE_CLAIM, letters_requeue_stuck
from tests.factories import PASSWORD
from tests.integration.helpers import (
    WORKER_POOL,
    assert_rendered_once,
    kill_pool_mid_render,
    kill_worker_mid_render,
    progress,
    ready_count,
    start_batch,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

READY = Letter.RenderStatus.READY
RENDERING = Letter.RenderStatus.RENDERING
FILESYSTEM_BROKER = settings.CELERY_BROKER_URL.startswith("filesystem://")


@pytest.fixture
def worker_env(media_root):
    return {"PRISTAN_PRIVATE_MEDIA_ROOT": str(media_root)}


def test_batch_of_50_letters(celery_worker_process, media_root, client):
    size = 50
    batch, coordinator = start_batch(size)

    wait_until(
        lambda: ready_count(batch) == size,
        timeout=180,
        message=lambda: progress(batch, celery_worker_process),
    )

    letters = assert_rendered_once(batch, media_root, size)
    assert all(letter.render_attempts == 1 for letter in letters)

    assert client.login(username=coordinator.username, password=PASSWORD)
    response = client.get(reverse("letters:batch_zip", args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    pdfs = [name for name in names if name.endswith(".pdf")]
    assert len(pdfs) == size
    assert sorted(names) == sorted([*pdfs, "register.csv"])
    assert {hashlib.sha256(archive.read(name)).hexdigest() for name in pdfs} == {
        letter.pdf_sha256 for letter in letters
    }
    register_rows = archive.read("register.csv").decode().splitlines()
    assert len(register_rows) == size + 1  # a header and one row per letter


def letter_states(batch: Batch) -> dict:
    """Letters of the batch by render status."""
    return dict(batch.letters.values_list("render_status").annotate(n=Count("pk")).order_by())


def kill_mid_render(worker, batch: Batch) -> dict:
    states = kill_pool_mid_render(
        worker, lambda: letter_states(batch), lambda: progress(batch, worker)
    )
    assert states.get(READY, 0) < len(batch.case_ids), "the batch finished before the kill"
    return states


def queued_messages() -> int:
    """Messages waiting in the queue (not those a worker has received)."""
    from config.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue="celery").message_count


def kill_whole_worker_mid_render(worker, batch: Batch) -> dict:
    states = kill_worker_mid_render(
        worker, lambda: letter_states(batch), lambda: progress(batch, worker)
    )
    assert states.get(READY, 0) < len(batch.case_ids), "the batch finished before the kill"
    return states


# "A pool process died" needs pool processes: the prefork pool has them (Redis); the solo pool
# (the embedded mode) runs tasks in the worker's main process, so there the same accident is the
# whole worker dying, which test_whole_worker_killed_mid_batch_sweep_recovers covers.
POOLS_WITH_CHILDREN = [pool for pool in [WORKER_POOL] if pool == "prefork"]


@pytest.mark.parametrize("pool", POOLS_WITH_CHILDREN)
def test_worker_process_killed_mid_batch(pool, celery_worker_process, media_root):
    """Pool processes SIGKILLed mid-batch (out of memory, a crash in a C library), one of them
    in the middle of a letter and the other idle: its task goes back on the queue at once
    (task_reject_on_worker_lost), the worker starts new pool processes and carries on, and the
    redelivered task takes back its own claim on the letter. Then the worker is stopped the
    ordinary way (SIGTERM: running letters finish, the rest stay queued) and a new one finishes
    the batch. (billiard's blocking pool, which the filesystem broker would get, stalls for good
    here: see worker_pool_options.)"""
    size = 40
    worker = celery_worker_process
    batch, _ = start_batch(size)

    at_kill = kill_mid_render(worker, batch)
    wait_until(
        # Three more letters, or all of them if fewer were left when the pool was killed.
        lambda: ready_count(batch) >= min(at_kill[READY] + 3, size),
        timeout=30,  # billiard reports the lost pool processes after 10 s (worker_lost_wait)
        message=lambda: f"the worker to carry on after the kill: {progress(batch, worker)}",
    )
    worker.restart()

    wait_until(
        lambda: ready_count(batch) == size,
        timeout=180,
        message=lambda: progress(batch, worker),
    )
    assert_rendered_once(batch, media_root, size)


VISIBILITY_TIMEOUT = 3
# Brokers that keep a message the worker has received until it is acknowledged, and give it back
# when the worker dies: Redis, not kombu's filesystem transport (it deletes the message's file).
REDELIVERING_BROKERS = [] if FILESYSTEM_BROKER else ["redis"]


@pytest.mark.parametrize("broker", REDELIVERING_BROKERS)
def test_whole_worker_killed_mid_batch_broker_redelivers(broker, celery_worker_process, media_root):
    """The machine dies: the pool processes and then the main worker process are SIGKILLed.
    Redis keeps the dead worker's unacknowledged messages, and a worker puts back on the queue
    those older than the visibility timeout: kombu scans for them when the worker starts and
    then every 100 s (unacked_restore_interval 10 s x unacked_restore_throttle 10). The settings
    default to 300 s; the new worker here uses a few seconds, and starts once the messages are
    older than that, so that its first scan finds them."""
    size = 40
    worker = celery_worker_process
    batch, _ = start_batch(size)

    kill_mid_render(worker, batch)
    time.sleep(0.5)  # the main process requeues what it lost and hands out new tasks
    worker.kill(signal.SIGKILL)
    # Older than the new worker's visibility timeout when it starts, the dead worker's
    # unacknowledged messages are put back on the queue by its first restore scan.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    worker.restart(extra_env={"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)})

    wait_until(
        lambda: ready_count(batch) == size,
        timeout=90,
        message=lambda: progress(batch, worker),
    )
    assert_rendered_once(batch, media_root, size)


def test_whole_worker_killed_mid_batch_sweep_recovers(celery_worker_process, media_root):
    """The machine dies in the middle of a letter: the whole worker is SIGKILLed at once. What it
    had received from the broker is lost with it: kombu's filesystem transport deleted the
    message when the worker received it, and Redis gives it back only after the visibility
    timeout (300 s), or never if Redis restarted too (it keeps nothing on disk). A new worker
    renders what is still queued; the letters the dead worker had in hand stay claimed or
    pending until beat's requeue_stuck_letters sweep (every 60 s) queues them again: pending
    letters older than 2 minutes, and claims older than STALE_CLAIM, which the new worker may
    then take over. Here the dead worker's claims are made 3 minutes old in the database and
    the sweep is called as beat would call it then."""
    size = 40
    worker = celery_worker_process
    batch, _ = start_batch(size)

    kill_whole_worker_mid_render(worker, batch)
    claimed = set(batch.letters.filter(render_status=RENDERING).values_list("pk", flat=True))
    assert claimed
    worker.restart()

    # The new worker renders the rest and then has nothing left to do; the letters in hand at
    # the kill are still not rendered: their messages are gone.
    def idle():
        return queued_messages() == 0 and not (
            batch.letters.filter(render_status=RENDERING).exclude(pk__in=claimed).exists()
        )

    def idle_for_a_second():  # not between taking a message and claiming its letter
        if not idle():
            return False
        time.sleep(1)
        return idle()

    wait_until(
        idle_for_a_second,
        timeout=180,
        message=lambda: f"the new worker to render what is queued: {progress(batch, worker)}",
    )
    unrendered = set(batch.letters.exclude(render_status=READY).values_list("pk", flat=True))
    assert set(batch.letters.filter(pk__in=claimed).values_list("render_status", flat=True)) == {
        RENDERING
    }

    # Time passes: the claims of the dead worker are older than STALE_CLAIM when the sweep runs.
    Letter.objects.filter(pk__in=claimed).update(
        render_claimed_at=timezone.now() - STALE_CLAIM - timedelta(minutes=1)
    )
    assert letters_requeue_stuck(older_than=timedelta(0)) == len(unrendered)

    wait_until(
        lambda: ready_count(batch) == size,
        timeout=90,
        message=lambda: progress(batch, worker),
    )
    letters = assert_rendered_once(batch, media_root, size)
    # A letter counts the renders that were stored: the dead worker's never was.
    assert all(letter.render_attempts == 1 for letter in letters)
