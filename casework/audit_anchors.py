"""Anchors of the access log: each chain's newest entry (`chain:seq:hash`, casework.audit)
written where whoever controls the database cannot reach it. Anyone who later gives one to
`manage.py verify_access_log --anchor` learns whether entries up to it were removed or rewritten,
even by someone who had the log's key.

- `anchors_log()`, every few minutes (CELERY_BEAT_SCHEDULE): one line per chain on the logger
  "pristan.audit", for the host's syslog (PRISTAN_ANCHOR_SYSLOG sends it to a syslog server).
- `anchors_send()`, daily: each organisation's administrators and auditors get their own
  chain's anchor by email (superusers get the chain of entries without an organisation).
- Every backup's manifest lists them (ops.backup).
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from casework import audit
from casework.models import Membership, Organisation

logger = logging.getLogger("pristan.audit")
User = get_user_model()
# Roles that read the access log (Capability.VIEW_ACCESS_LOG).
RECIPIENT_ROLES = [Membership.Role.ADMINISTRATOR, Membership.Role.AUDITOR]


def anchors_log() -> list[audit.Anchor]:
    """Seal, then log every chain's newest entry; returns the anchors logged."""
    audit.seal()
    anchors = audit.heads()
    for anchor in anchors:
        logger.info("access log anchor %s", anchor)
    return anchors


def anchors_send() -> int:
    """Email each organisation's administrators and auditors their chain's anchor; returns the
    number of emails sent."""
    audit.seal()
    heads = {anchor.chain: anchor for anchor in audit.heads()}
    now = timezone.now()
    sent = 0
    names = dict(Organisation.objects.values_list("pk", "name"))
    users = User.objects.filter(is_active=True).exclude(email="")
    recipients = users.filter(
        Q(membership__role__in=RECIPIENT_ROLES, membership__organisation_id__in=heads)
        | Q(is_superuser=True)
    ).select_related("membership")
    for user in recipients:
        chains = []
        membership = getattr(user, "membership", None)
        if membership is not None and membership.role in RECIPIENT_ROLES:
            chains.append(membership.organisation_id)
        if user.is_superuser:
            chains.append(audit.NO_ORGANISATION)
        anchors = [heads[chain] for chain in chains if chain in heads]
        if not anchors:
            continue
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            context = {
                "user": user,
                "anchors": [(names.get(a.chain, ""), a) for a in anchors],
                "now": now,
            }
            subject = render_to_string("casework/email/anchors_subject.txt", context).strip()
            body = render_to_string("casework/email/anchors.txt", context)
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent
