from celery import shared_task

from privacy.erasure import cases_erase_expired


# The name is the one it had in casework.tasks, so that schedules and queued tasks still match.
@shared_task(name="casework.tasks.erase_expired_cases")
def erase_expired_cases() -> dict[str, int]:
    """Daily: erase the cases whose retention date has passed (see privacy.erasure)."""
    return cases_erase_expired()
