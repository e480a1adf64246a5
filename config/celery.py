import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pristan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_the_scheduler_role(**kwargs) -> None:
    """The scheduler's role lets settings load without the field keys (config/settings.py); a
    worker started under it would fail on its first letter instead of refusing to start."""
    from django.conf import settings

    if settings.PRISTAN_ROLE == "scheduler":
        # SystemExit: Celery logs and ignores an exception raised by a signal handler.
        raise SystemExit("PRISTAN_ROLE=scheduler is for Celery beat only, not for a worker.")
