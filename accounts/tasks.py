from celery import shared_task

from accounts.notifications import account_locked_notify


@shared_task
def send_account_locked_notice(user_id: int, locked: bool) -> int:
    """E-mail the organisation's administrators that an account was locked from the public
    emergency page (accounts.services.account_lock_by_username)."""
    return account_locked_notify(user_id=user_id, locked=locked)
