"""The daily deadline digest. It names cases by their reference only: an email can be read over
someone's shoulder or sit in a mailbox that is later seized.

Reminders escalate: an open deadline is in the digest 14, 7, 3 and 1 days before it, and every
day from the day it is due until someone marks it done."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from casework.models import REMINDER_DAYS, Case, Event

User = get_user_model()


def deadline_reminders_send(*, today=None) -> int:
    """Email every active user with an email address the open deadlines on the cases they may
    see and are assigned to that are due, overdue, or exactly 14, 7, 3 or 1 days away. Returns
    the number of emails."""
    today = today or timezone.localdate()
    reminder_days = [today + timedelta(days=n) for n in REMINDER_DAYS]
    sent = 0
    users = User.objects.filter(is_active=True, membership__isnull=False).exclude(email="")
    for user in users.select_related("membership"):
        cases = Case.objects.visible_to(user).filter(assignments__user=user)
        events = list(
            Event.objects.filter(
                Q(date__lte=today) | Q(date__in=reminder_days),
                case__in=cases,
                is_deadline=True,
                done=False,
            )
            .select_related("case")
            .order_by("date")
        )
        if not events:
            continue
        urgent = any((event.date - today).days <= REMINDER_DAYS[-2] for event in events)
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            context = {
                "user": user,
                "events": [(event, (event.date - today).days) for event in events],
                "today": today,
                "urgent": urgent,
            }
            subject = render_to_string("casework/email/reminders_subject.txt", context).strip()
            body = render_to_string("casework/email/reminders.txt", context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent
