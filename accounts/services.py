"""Writes about accounts: second factors, locks, lockdowns and ending sessions. Each one that
matters for security leaves an access-log entry (ids only)."""

import logging
import re
import secrets

import django_otp
from axes.utils import reset
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device

from accounts.backends import axes_username
from accounts.models import (
    OrganisationLockdown,
    RecoveryCode,
    RecoveryCodeDevice,
    TOTPDevice,
    User,
)
from casework import audit
from casework.models import AccessEvent, Membership, Organisation
from core.users import AnyUser

Action = AccessEvent.Action
logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are copied by hand from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


# --- Codes ---------------------------------------------------------------------------------------


def normalise_code(text: str) -> str:
    """What the user typed, as stored: lower case, without spaces or dashes."""
    return re.sub(r"[\s\-]", "", text or "").lower()


def format_recovery_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    # django-otp is untyped: its querysets are Any to mypy.
    device: TOTPDevice | None = (
        TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("id").first()
    )
    return device


def totp_device_for_enrolment(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator: the same secret however often the page is shown."""
    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def recovery_codes_remaining(user: User) -> int:
    # django-otp is untyped: its querysets are Any to mypy.
    return RecoveryCode.objects.filter(device__user=user, device__confirmed=True).count()


def code_device(user: User, code: str) -> Device | None:
    """The device a code would be checked against: six digits are a TOTP code, anything else a
    recovery code."""
    if re.fullmatch(r"\d{6}", code):
        return totp_device(user)
    return RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()


def code_verify(*, device: Device, code: str) -> bool:
    """Check a code once, throttled and replay-proof (django-otp): a TOTP code is accepted once,
    a recovery code is deleted when it is used."""
    return django_otp.verify_token(device.user, device.persistent_id, code) is not None


def is_throttled(device: Device) -> bool:
    allowed, _why = device.verify_is_allowed()
    return not allowed


# --- Enrolment ----------------------------------------------------------------------------------


@transaction.atomic
def totp_confirm(*, device: TOTPDevice, request: HttpRequest) -> list[str]:
    """The user proved they hold the secret: the device counts from now on, other unconfirmed
    ones go, and a fresh set of recovery codes is made (returned once, for display)."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    audit.record(
        request,
        Action.SECURITY,
        user=device.user,
        object_type="totp_device",
        object_id=str(device.pk),
    )
    return recovery_codes_create(user=device.user, request=request)


@transaction.atomic
def recovery_codes_create(*, user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones, returned in clear
    this once: only their salted hashes are stored."""
    device, _created = RecoveryCodeDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    RecoveryCodeDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.codes.all().delete()
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, digest=RecoveryCode.digest_of(code)) for code in codes
    )
    if request is not None:
        audit.record(
            request,
            Action.SECURITY,
            user=user,
            object_type="recovery_codes",
            object_id=str(device.pk),
        )
    return codes


@transaction.atomic
def two_factor_reset(*, user: User, by: User, request: HttpRequest) -> None:
    """Forget the user's authenticator and recovery codes (a lost phone): they enrol again at
    their next login. Their sessions end, since none is verified by a device any more."""
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCodeDevice.objects.filter(user=user).delete()
    user.end_all_sessions()
    audit.record(
        request, Action.SECURITY, user=by, object_type="two_factor_reset", object_id=str(user.pk)
    )


# --- Sessions and locks -------------------------------------------------------------------------


def sessions_end_all(*, user: User, by: User, request: HttpRequest) -> None:
    """ "Log out everywhere": every session of `user` ends at its next request."""
    audit.record(request, Action.SECURITY, user=by, object_type="sessions", object_id=str(user.pk))
    user.end_all_sessions()


def account_lock(*, user: User, request: HttpRequest) -> bool:
    """Emergency lock: every session of the user ends now, and no login until an administrator
    unlocks the account. Returns whether the account is locked.

    The one exception is the last active administrator of an organisation: locking them would
    leave nobody who can unlock anyone, and the public page would let anyone who knows their
    username do it. Their sessions end all the same, but they can log in again with their
    password and code. (Not "reset the second factor instead": enrolling a new authenticator
    takes only the password, so that would hand a phished password the account.)"""
    with transaction.atomic():
        locked = not _is_last_administrator(user)
        updated = 0
        if locked:
            updated = User.objects.filter(pk=user.pk, locked_at=None).update(
                locked_at=timezone.now()
            )
        user.end_all_sessions()
        if updated or not locked:
            audit.record(
                request,
                Action.LOCKDOWN,
                user=user,
                object_type="user" if locked else "sessions",
                object_id=str(user.pk),
            )
    return locked


def _is_last_administrator(user: User) -> bool:
    """Whether `user` is the only administrator of their organisation still able to log in.
    The organisation's administrators are locked for the rest of the transaction, so that two
    administrators locked at the same moment cannot both be locked."""
    membership = getattr(user, "membership", None)
    if membership is None or membership.role != Membership.Role.ADMINISTRATOR:
        return False
    administrators = list(
        User.objects.select_for_update(of=("self",))
        .filter(
            membership__organisation_id=membership.organisation_id,
            membership__role=Membership.Role.ADMINISTRATOR,
        )
        .order_by("pk")
        .values_list("pk", "is_active", "locked_at")
    )
    return not any(
        pk != user.pk and is_active and locked_at is None
        for pk, is_active, locked_at in administrators
    )


def account_lock_by_username(*, username: str, request: HttpRequest) -> None:
    """The public emergency page: lock the account if there is one, and tell the organisation's
    administrators by e-mail (after the commit, through the queue); say nothing either way."""
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    if user is None:
        return
    already_locked = user.locked_at is not None
    locked = account_lock(user=user, request=request)
    if not (already_locked and locked):  # one e-mail per lock, however often it is repeated
        transaction.on_commit(lambda: _enqueue_lock_notice(user.pk, locked))


def _enqueue_lock_notice(user_id: int, locked: bool) -> None:
    from accounts.tasks import send_account_locked_notice

    try:
        send_account_locked_notice.delay(user_id, locked)
    except Exception as error:  # the broker is down: the lock holds, only the e-mail is lost
        logger.warning("account lock notice for user %s not queued: %s", user_id, error)


def account_unlock(*, user: User, by: User | None, request: HttpRequest | None) -> None:
    """Lift an emergency lock, and a django-axes lockout of the username too. `by` is None
    for `manage.py unlock_account` (the entry then has no user and no address)."""
    User.objects.filter(pk=user.pk).update(locked_at=None)
    reset(username=axes_username(None, {"username": user.get_username()}))
    audit.record(
        request, Action.SECURITY, user=by, object_type="account_unlock", object_id=str(user.pk)
    )


# --- Organisation lockdown ----------------------------------------------------------------------


def is_administrator(user: AnyUser) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role == Membership.Role.ADMINISTRATOR


def shut_out_by_lockdown(user: AnyUser) -> bool:
    """True for a member (not an administrator) of an organisation under lockdown. A user read
    for a request (AccountBackend.get_user) carries the answer, read with it."""
    membership = getattr(user, "membership", None)
    if membership is None or membership.role == Membership.Role.ADMINISTRATOR:
        return False
    locked = getattr(user, "organisation_locked", None)
    if locked is not None:
        return bool(locked)
    return OrganisationLockdown.objects.filter(organisation_id=membership.organisation_id).exists()


@transaction.atomic
def organisation_lock_down(
    *, organisation: Organisation, by: User, request: HttpRequest
) -> OrganisationLockdown:
    """Lock the organisation to its administrators. The middleware ends every other member's
    session at its next request (with a page that says why) and the login refuses them, until
    the lockdown is lifted."""
    lockdown, _created = OrganisationLockdown.objects.get_or_create(
        organisation=organisation, defaults={"locked_by": by}
    )
    audit.record(
        request,
        Action.LOCKDOWN,
        user=by,
        object_type="organisation",
        object_id=str(organisation.pk),
    )
    return lockdown


def organisation_lift_lockdown(
    *, organisation: Organisation, by: User, request: HttpRequest
) -> None:
    OrganisationLockdown.objects.filter(organisation=organisation).delete()
    audit.record(
        request,
        Action.SECURITY,
        user=by,
        object_type="organisation_lockdown_lifted",
        object_id=str(organisation.pk),
    )
