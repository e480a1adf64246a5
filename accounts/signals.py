"""Receivers for Django's login signals: the login time (for the absolute session lifetime) and
failed logins in the access log."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import salted_hmac

from casework import audit
from casework.models import AccessEvent

LOGIN_AT_SESSION_KEY = "accounts_login_at"
# When the user last did something (not polling), to the minute: the idle clock
# (accounts.middleware).
ACTIVE_AT_SESSION_KEY = "accounts_active_at"


@receiver(user_logged_in, dispatch_uid="accounts.login_time")
def remember_login_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session[LOGIN_AT_SESSION_KEY] = now
        request.session[ACTIVE_AT_SESSION_KEY] = now


def username_hash(username: str) -> str:
    """A short keyed hash: repeated failures for one name can be told apart from a spray over
    many, without the log holding the names people typed (often a password by mistake)."""
    digest = salted_hmac("accounts.login_failed", (username or "").casefold(), algorithm="sha256")
    return digest.hexdigest()[:16]


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def record_login_failure(sender, credentials, request=None, **kwargs):
    # A wrong second-factor code is recorded by the view, with the user's id.
    if request is None or credentials.get("second_factor"):
        return
    audit.record(
        request,
        AccessEvent.Action.LOGIN_FAILED,
        object_type="username_hash",
        object_id=username_hash(credentials.get("username", "")),
    )
