"""The daily deadline digest. It names cases by their reference only: an email can be read over
someone's shoulder or sit in a mailbox that is later seized."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from casework.models import Case, Event

User = get_user_model()
HORIZON_DAYS = 7


def deadline_reminders_send(*, today=None) -> int:
    """Email every active user with an email address their open deadlines (overdue and the next
    seven days) on the cases they may see and are assigned to. Returns the number of emails."""
    today = today or timezone.localdate()
    sent = 0
    users = User.objects.filter(is_active=True, membership__isnull=False).exclude(email="")
    for user in users.select_related("membership"):
        cases = Case.objects.visible_to(user).filter(assignments__user=user)
        events = list(
            Event.objects.filter(
                case__in=cases,
                is_deadline=True,
                done=False,
                date__lte=today + timedelta(days=HORIZON_DAYS),
            )
            .select_related("case")
            .order_by("date")
        )
        if not events:
            continue
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            context = {"user": user, "events": events, "today": today}
            subject = render_to_string("casework/email/reminders_subject.txt", context).strip()
            body = render_to_string("casework/email/reminders.txt", context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent
