from celery import shared_task

from casework.reminders import deadline_reminders_send


@shared_task
def send_deadline_reminders() -> int:
    """Daily digest of each caseworker's deadlines (scheduled in CELERY_BEAT_SCHEDULE)."""
    return deadline_reminders_send()
