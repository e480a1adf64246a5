"""E-mails to administrators about their accounts. They name the account (its username) and
nothing about any client, like the deadline digest."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from casework.models import Membership


def account_locked_notify(*, user_id: int, locked: bool) -> int:
    """Tell every active administrator (with an e-mail address) of the user's organisation that
    the account was locked from the public page, or, for the last administrator, that its
    sessions were ended. Returns the number of e-mails sent."""
    user = User.objects.select_related("membership").filter(pk=user_id).first()
    membership = getattr(user, "membership", None)
    if user is None or membership is None:
        return 0
    administrators = (
        User.objects.filter(
            is_active=True,
            membership__organisation_id=membership.organisation_id,
            membership__role=Membership.Role.ADMINISTRATOR,
        )
        .exclude(email="")
        .order_by("pk")
    )
    context = {
        "username": user.get_username(),
        "locked": locked,
        "admin_url": settings.PRISTAN_PUBLIC_URL
        + reverse("admin:accounts_user_change", args=[user.pk]),
    }
    sent = 0
    for administrator in administrators:
        with translation.override(administrator.language or settings.LANGUAGE_CODE):
            subject = render_to_string("accounts/email/account_locked_subject.txt", context)
            body = render_to_string("accounts/email/account_locked.txt", context)
        send_mail(subject.strip(), body, None, [administrator.email])
        sent += 1
    return sent
