from celery import shared_task

from casework.reminders import deadline_reminders_send
from casework.retention import cases_erase_expired


@shared_task
def send_deadline_reminders() -> int:
    """Daily digest of each caseworker's deadlines (scheduled in CELERY_BEAT_SCHEDULE)."""
    return deadline_reminders_send()


@shared_task
def erase_expired_cases() -> dict[str, int]:
    """Daily: erase the cases whose retention date has passed (see casework.retention)."""
    return cases_erase_expired()
