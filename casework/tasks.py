from celery import shared_task

from casework.audit_anchors import anchors_log, anchors_send
from casework.reminders import deadline_reminders_send


@shared_task
def send_deadline_reminders() -> int:
    """Daily digest of each caseworker's deadlines (scheduled in CELERY_BEAT_SCHEDULE)."""
    return deadline_reminders_send()


@shared_task
def log_access_log_anchors() -> int:
    """Every few minutes: each access-log chain's newest hash to the server log."""
    return len(anchors_log())


@shared_task
def send_access_log_anchors() -> int:
    """Daily: each organisation's access-log anchor to its administrators and auditors."""
    return anchors_send()
