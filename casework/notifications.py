"""Emails to coordinators about a possible duplicate client. Like the deadline digest, they name
cases by their reference only: an email can be read over someone's shoulder or sit in a
mailbox that is later seized."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from casework.models import DuplicateAlert, Membership

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
