"""Emails about a possible duplicate client and about referrals to partner lawyers. Like the
deadline digest, they name cases by their reference only: an email can be read over someone's
shoulder or sit in a mailbox that is later seized."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from casework.models import DuplicateAlert, Membership, Share

User = get_user_model()


def duplicate_alert_send(*, alert_id: int) -> int:
    """Email the organisation's coordinators and administrators about one alert (if it is
    still open). Returns the number of emails sent."""
    alert = (
        DuplicateAlert.objects.filter(pk=alert_id, resolved_at=None)
        .select_related("raised_by", "new_case")
        .first()
    )
    if alert is None:
        return 0
    references = list(alert.existing_client.cases.values_list("reference", flat=True))
    coordinators = User.objects.filter(
        is_active=True,
        membership__organisation_id=alert.organisation_id,
        membership__role__in=[Membership.Role.COORDINATOR, Membership.Role.ADMINISTRATOR],
    ).exclude(email="")
    sent = 0
    for user in coordinators:
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            context = {
                "alert": alert,
                "references": references,
                "public_url": settings.PRISTAN_PUBLIC_URL,
            }
            subject = render_to_string("casework/email/duplicate_subject.txt", context).strip()
            body = render_to_string("casework/email/duplicate.txt", context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent


def referral_notice_send(*, share_id: int, step: str) -> int:
    """Email the other side of a referral about one step: the lawyer about an offer, and when
    the NGO ends it; whoever referred it (or, if they have left, the organisation's
    coordinators) when the lawyer accepts, declines or ends it; both when it expires. Only the
    case reference and the step, never the message, the reason or a name. Returns the number
    of emails sent."""
    share = Share.objects.filter(pk=share_id).select_related("case", "lawyer", "created_by").first()
    if share is None:
        return 0
    to_lawyer = step in ("offered", "expired") or (
        step == "ended" and share.ended_by_id != share.lawyer_id
    )
    to_ngo = step in ("accepted", "declined", "expired") or (
        step == "ended" and share.ended_by_id == share.lawyer_id
    )
    recipients = []
    if to_lawyer and share.lawyer.is_active:
        recipients.append(share.lawyer)
    if to_ngo:
        if share.created_by is not None and share.created_by.is_active:
            recipients.append(share.created_by)
        else:
            recipients.extend(
                User.objects.filter(
                    is_active=True,
                    membership__organisation_id=share.case.organisation_id,
                    membership__role=Membership.Role.COORDINATOR,
                )
            )
    sent = 0
    for user in recipients:
        if not user.email:
            continue
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            context = {
                "share": share,
                "step": step,
                "for_lawyer": user.pk == share.lawyer_id,
                "public_url": settings.PRISTAN_PUBLIC_URL,
            }
            subject = render_to_string("casework/email/referral_subject.txt", context).strip()
            body = render_to_string("casework/email/referral.txt", context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent
