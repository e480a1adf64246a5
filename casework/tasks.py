from datetime import timedelta

from celery import shared_task
from django.conf import settings

from casework import services
from casework.notifications import duplicate_alert_send
from casework.reminders import deadline_reminders_send


@shared_task
def send_deadline_reminders() -> int:
    """Daily digest of each caseworker's deadlines (scheduled in CELERY_BEAT_SCHEDULE)."""
    return deadline_reminders_send()


@shared_task
def send_duplicate_alert(alert_id: int) -> int:
    """Email the coordinators about a possible duplicate client (enqueued on commit)."""
    return duplicate_alert_send(alert_id=alert_id)


@shared_task
def delete_stale_imports() -> int:
    """Uploaded sheets nobody imported are deleted after PRISTAN_IMPORT_KEEP_HOURS (scheduled
    in CELERY_BEAT_SCHEDULE): an abandoned upload must not stay on the server."""
    return services.spreadsheet_imports_delete_stale(
        older_than=timedelta(hours=settings.PRISTAN_IMPORT_KEEP_HOURS)
    )
