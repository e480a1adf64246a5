from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from casework import audit, referrals, services
from casework.audit_anchors import anchors_log, anchors_send
from casework.notifications import duplicate_alert_send, referral_notice_send
from casework.reminders import deadline_reminders_send
from casework.services import daily_run_claim


@shared_task
def send_deadline_reminders() -> int | None:
    """Daily digest of each caseworker's deadlines (scheduled in CELERY_BEAT_SCHEDULE), sent once
    a day however often the task is sent: None when today's digest has gone already."""
    today = timezone.localdate()
    run = daily_run_claim(job="deadline-reminders", day=today)
    if run is None:
        return None
    sent = deadline_reminders_send(today=today)
    run.finish()
    return sent


@shared_task
def seal_access_log() -> int:
    """Every few seconds (ACCESS_LOG_SEAL_SECONDS): chain the access log's new entries."""
    return audit.seal()


@shared_task
def log_access_log_anchors() -> int:
    """Every few minutes: each access-log chain's newest hash to the server log."""
    return len(anchors_log())


@shared_task
def send_access_log_anchors() -> int | None:
    """Daily: each organisation's access-log anchor to its administrators and auditors, once a
    day however often the task is sent (None when today's have gone already)."""
    run = daily_run_claim(job="access-log-anchors", day=timezone.localdate())
    if run is None:
        return None
    sent = anchors_send()
    run.finish()
    return sent


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


@shared_task
def send_referral_notice(share_id: int, step: str) -> int:
    """Email the other side of a referral about one of its steps (enqueued on commit)."""
    return referral_notice_send(share_id=share_id, step=step)


@shared_task
def expire_referrals() -> int:
    """Hourly: referrals past their end date are marked expired and both sides told. Each row
    is claimed by a conditional update, so a second run at the same time does nothing twice."""
    return referrals.referrals_expire_due()


@shared_task(acks_late=True)
def import_spreadsheet(import_id: int) -> int | None:
    """Import a queued client sheet, all or nothing (enqueued on commit by
    services.spreadsheet_import_start): how many cases it created, or None when there was
    nothing to do or the import was refused (the reason is on the upload's row)."""
    sheet_import = services.spreadsheet_import_execute(import_id=import_id)
    return sheet_import.created_count if sheet_import is not None else None
