"""The personal calendar feed: the public address a calendar application subscribes to, and
the security page's buttons that make or revoke it."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import feeds
from casework import audit
from casework.calendar import feed_body
from casework.models import AccessEvent

FEED_RATE = 30  # requests per address per minute: calendar apps poll every few minutes at most


def _rate_limited(request) -> bool:
    key = f"calendar-feed-rate:{audit.client_ip(request) or '-'}:{timezone.now():%Y%m%d%H%M}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key) > FEED_RATE
    except ValueError:  # expired between add() and incr()
        return False


@login_not_required
@never_cache
@require_GET
def calendar_feed(request, token):
    """Public (the calendar application has no session) and rate-limited per address. A token
    that is wrong, revoked, or whose user may no longer log in gets the same 404."""
    if _rate_limited(request):
        return HttpResponse(status=429)
    user = feeds.calendar_feed_owner(token)
    if user is None:
        raise Http404
    audit.record(request, AccessEvent.Action.LIST, user=user, object_type="calendar_feed")
    with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
        body = feed_body(user, stamp=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
@never_cache
def calendar_feed_manage(request):
    """Make a new address (the old one stops working) or revoke the feed."""
    if request.POST.get("action") == "revoke":
        if feeds.calendar_feed_revoke(user=request.user, request=request):
            messages.success(
                request, _("Your calendar feed is revoked: its address no longer works.")
            )
        return redirect("accounts:security")
    token = feeds.calendar_feed_create(user=request.user, request=request)
    url = request.build_absolute_uri(reverse("accounts:calendar_feed", args=[token]))
    return render(request, "accounts/calendar_feed_created.html", {"url": url})
