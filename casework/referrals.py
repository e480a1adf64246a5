"""Referrals of a case to a partner lawyer (casework.models.Share): the writes of each step.

offered → accepted | declined; accepted (or still offered) → ended by either side, or expired
at the end date. Every step is one transaction that changes the row only from the status it
expects (two clicks, or a click and the expiry job, cannot both win), writes the case history
(CaseLogEntry: the step and the lawyer's username, never the message or the reason) and the
access log, and emails the other side after the commit (casework.notifications)."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from casework import audit
from casework.models import Case, CaseLogEntry, Consent, Membership, Share
from core.users import User

Status = Share.Status


def sharing_consent_given(case: Case) -> bool:
    """The client consented to their file being shared with a partner lawyer (and has not
    withdrawn it): no referral without it."""
    return case.consents.filter(purpose=Consent.Purpose.SHARING, withdrawn_on=None).exists()


def _notify(share: Share, step: str) -> None:
    from casework.tasks import send_referral_notice

    send_referral_notice.delay_on_commit(share.pk, step)


def _record(share: Share, detail: str, *, by: User | None, request: HttpRequest | None) -> None:
    share.case.log(by, CaseLogEntry.Action.REFERRAL, f"{share.lawyer.get_username()}: {detail}")
    audit.record(request, audit.Action.CHANGE, share, user=by, case_id=share.case_id)


@transaction.atomic
def referral_offer(
    *,
    case: Case,
    lawyer: User,
    message: str,
    ends_at: datetime,
    by: User,
    request: HttpRequest | None = None,
) -> Share:
    """Offer the case to a partner lawyer of its organisation. Refused without the client's
    consent to sharing, and while the lawyer has an open referral of the case already (one
    that only ran out by date is marked expired first, so it can be renewed)."""
    membership: Membership | None = getattr(lawyer, "membership", None)
    if not (
        lawyer.is_active
        and membership
        and membership.organisation_id == case.organisation_id
        and membership.role == Membership.Role.LAWYER
    ):
        raise ValidationError(
            _("A case can only be referred to a partner lawyer of its organisation."),
            code="lawyer",
        )
    if not sharing_consent_given(case):
        raise ValidationError(
            _(
                "The client has not consented to sharing the file with a partner lawyer. "
                "Record that consent on the case page first."
            ),
            code="consent",
        )
    Case.objects.select_for_update().filter(pk=case.pk).first()  # one referrer at a time
    for stale in Share.objects.filter(
        case=case, lawyer=lawyer, status__in=Share.OPEN_STATUSES, expires_at__lte=timezone.now()
    ):
        _expire(stale)
    if Share.objects.filter(case=case, lawyer=lawyer, status__in=Share.OPEN_STATUSES).exists():
        raise ValidationError(
            _("This lawyer already has an open referral of this case. End it first."),
            code="open",
        )
    share = Share.objects.create(
        case=case,
        lawyer=lawyer,
        message=message,
        expires_at=ends_at,
        created_by=by,
        status=Status.OFFERED,
    )
    _record(share, _("offered"), by=by, request=request)
    _notify(share, "offered")
    return share


def _transition(share: Share, *, expected: tuple[str, ...], **changes) -> Share:
    """Change the row only if it is still in an `expected` status and before its end; the
    refusal names what happened instead."""
    updated = Share.objects.filter(
        pk=share.pk, status__in=expected, expires_at__gt=timezone.now()
    ).update(**changes)
    share.refresh_from_db()
    if not updated:
        raise ValidationError(
            _("This referral is %(status)s already; nothing was changed.")
            % {"status": share.get_status_display().lower()},
            code="status",
        )
    return share


@transaction.atomic
def referral_accept(*, share: Share, by: User, request: HttpRequest | None = None) -> Share:
    if share.lawyer_id != by.pk:
        raise ValidationError(_("Only the lawyer it was offered to can accept it."))
    _transition(
        share, expected=(Status.OFFERED,), status=Status.ACCEPTED, responded_at=timezone.now()
    )
    _record(share, _("accepted"), by=by, request=request)
    _notify(share, "accepted")
    return share


@transaction.atomic
def referral_decline(
    *, share: Share, reason: str = "", by: User, request: HttpRequest | None = None
) -> Share:
    if share.lawyer_id != by.pk:
        raise ValidationError(_("Only the lawyer it was offered to can decline it."))
    now = timezone.now()
    _transition(
        share,
        expected=(Status.OFFERED,),
        status=Status.DECLINED,
        responded_at=now,
        ended_at=now,
        ended_by=by,
    )
    if reason:
        share.reason = reason
        share.save(update_fields=["reason"])
    _record(share, _("declined"), by=by, request=request)
    _notify(share, "declined")
    return share


@transaction.atomic
def referral_end(
    *, share: Share, reason: str, by: User, request: HttpRequest | None = None
) -> Share:
    """End an accepted referral, or withdraw one still offered: by the lawyer or by the NGO
    (the view decides who may). The lawyer's access ends at once."""
    _transition(
        share,
        expected=Share.OPEN_STATUSES,
        status=Status.ENDED,
        ended_at=timezone.now(),
        ended_by=by,
    )
    share.reason = reason
    share.save(update_fields=["reason"])
    _record(share, _("ended"), by=by, request=request)
    _notify(share, "ended")
    return share


def _expire(share: Share) -> bool:
    updated = Share.objects.filter(
        pk=share.pk, status__in=Share.OPEN_STATUSES, expires_at__lte=timezone.now()
    ).update(status=Status.EXPIRED, ended_at=timezone.now())
    if updated:
        share.refresh_from_db()
        _record(share, _("expired at its end date"), by=None, request=None)
        _notify(share, "expired")
    return bool(updated)


def referrals_expire_due() -> int:
    """Mark the open referrals past their end date expired, each in its own transaction, and
    tell both sides (scheduled hourly). Access has already ended at the end date itself
    (CaseQuerySet.visible_to compares the date); this makes it visible and notified."""
    expired = 0
    due = Share.objects.filter(status__in=Share.OPEN_STATUSES, expires_at__lte=timezone.now())
    for share in due.select_related("case", "lawyer"):
        with transaction.atomic():
            expired += _expire(share)
    return expired


def referrals_end_on_withdrawn_consent(*, case: Case, by: User) -> int:
    """The client withdrew their consent to sharing: every open referral of the case ends."""
    ended = 0
    for share in Share.objects.filter(case=case, status__in=Share.OPEN_STATUSES):
        if share.is_open:
            referral_end(share=share, reason=_("The client withdrew their consent."), by=by)
            ended += 1
        else:
            ended += _expire(share)
    return ended
