"""Celery tasks for letters: thin, ids only, the work is in letters.services."""

import logging

from celery import shared_task
from celery.signals import task_postrun, task_prerun, worker_process_init
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils.translation import gettext_noop

from letters import rendering, services
from letters.models import Batch

logger = logging.getLogger(__name__)


@worker_process_init.connect
def _warm_up_weasyprint(**kwargs):
    # Fonts, the print stylesheet and the URL fetcher are made once per worker process.
    rendering.warm_up()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, task=None, **kwargs):
    """Around every task, what Django does around every request: drop a connection that failed
    or outlived CONN_MAX_AGE, and check the next one's health before use (CONN_HEALTH_CHECKS).
    Celery's own fixup would instead open a new connection for every task (a new PostgreSQL
    backend: more than a letter's HTML costs) unless CELERY_DB_REUSE_MAX lets it keep one; with
    that setting this handler is what still drops a broken connection (database restarted)."""
    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()


# The database not answering (restarting, out of connections) is no fault of the letter or the
# batch: their state is left as it is, for a retry or the requeue sweep to take up again.
DATABASE_DOWN = (OperationalError, InterfaceError)


@shared_task(bind=True, acks_late=True, max_retries=3)
def render_letters(self, letter_ids: list[int]) -> str:
    """Render these letters one after the other (services.render_chunks decides how many a
    task takes). Returns each letter's outcome: "ready", "skipped" or "failed"."""
    outcomes = []
    for position, letter_id in enumerate(letter_ids):
        try:
            outcomes.append(
                services.letter_render(letter_id=letter_id, task_id=self.request.id or "")
            )
        except DATABASE_DOWN as error:
            # The same task id again, with the letters not yet done: it may take back its own
            # claim. After the last retry they wait (pending, or claimed until the claim is
            # stale) for the sweep.
            raise self.retry(args=[letter_ids[position:]], exc=error, countdown=10) from None
        except Exception as error:
            # A readable reason for the caseworker; the details go to the worker's log. The
            # other letters of the task are still rendered.
            logger.exception("letter %s could not be rendered", letter_id)
            services.letter_render_failed(
                letter_id=letter_id,
                reason=gettext_noop("Rendering failed: %s") % type(error).__name__,
            )
            outcomes.append("failed")
    return " ".join(outcomes)


@shared_task
def prepare_batch(batch_id: int) -> None:
    batch = Batch.objects.select_related("template", "authority", "created_by", "organisation").get(
        pk=batch_id
    )
    if batch.status != Batch.Status.PREPARING:
        return
    try:
        services.batch_prepare(batch=batch)
    except DATABASE_DOWN:
        raise  # rolled back, still preparing: the sweep sends it again
    except Exception as error:
        Batch.objects.filter(pk=batch_id).update(
            status=Batch.Status.FAILED, error=f"{type(error).__name__}: {error}"[:500]
        )
        raise


@shared_task
def requeue_stuck_letters() -> int:
    """Scheduled: see services.batches_requeue_stuck, services.letters_requeue_stuck and
    services.batches_finish_done (how many batches and letters were queued again)."""
    services.batches_finish_done()
    return services.batches_requeue_stuck() + services.letters_requeue_stuck()
