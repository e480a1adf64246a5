from celery import shared_task
from django.utils import timezone

from casework.services import daily_run_claim
from privacy.erasure import cases_erase_expired


# The name is the one it had in casework.tasks, so that schedules and queued tasks still match.
@shared_task(name="casework.tasks.erase_expired_cases")
def erase_expired_cases() -> dict[str, int] | None:
    """Daily: erase the cases whose retention date has passed (see privacy.erasure), once a
    day however often the task is sent: None when today's run has happened already."""
    today = timezone.localdate()
    run = daily_run_claim(job="erase-expired-cases", day=today)
    if run is None:
        return None
    counts = cases_erase_expired(today=today)
    run.finish()
    return counts
