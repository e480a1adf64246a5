"""The personal calendar feed's secret address: made, replaced and revoked by its user.

The address carries a random token; the database keeps only its SHA-256, so that neither a
dump nor an administrator can rebuild the address. The token has 256 bits of entropy, so a
plain hash suffices (no salt or slow hash needed to resist guessing)."""

import hashlib
import secrets

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import CalendarFeed
from accounts.services import shut_out_by_lockdown
from casework import audit
from casework.models import AccessEvent
from core.users import User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, user: User, request: HttpRequest) -> str:
    """A new secret address for the user's feed, replacing any older one (which stops working
    at once). Returns the token: it is shown to the user this once and stored nowhere."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.filter(user=user).delete()
    feed = CalendarFeed.objects.create(user=user, token_hash=token_hash(token))
    audit.record(
        request, AccessEvent.Action.SECURITY, object_type="calendar_feed", object_id=str(feed.pk)
    )
    return token


@transaction.atomic
def calendar_feed_revoke(*, user: User, request: HttpRequest) -> bool:
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    if deleted:
        audit.record(request, AccessEvent.Action.SECURITY, object_type="calendar_feed_revoked")
    return bool(deleted)


def calendar_feed_owner(token: str) -> User | None:
    """The user whose feed this token opens, if they may still see anything: an active,
    unlocked member whose organisation is not locked down. Anyone else gets None, exactly
    as for a token that never existed."""
    feed = (
        CalendarFeed.objects.filter(token_hash=token_hash(token))
        .select_related("user", "user__membership")
        .first()
    )
    if feed is None:
        return None
    user = feed.user
    if not user.is_active or user.locked_at is not None or shut_out_by_lockdown(user):
        return None
    if getattr(user, "membership", None) is None:
        return None
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    return user
