"""The personal calendar feed's content (iCalendar, RFC 5545).

Calendar services (Google, Apple, Microsoft…) keep what they receive, so an event in the feed
carries the case reference, the event's kind and its time, and nothing else: no client's name,
no event title (which may name the person or the place), no place."""

from datetime import datetime, timedelta

import icalendar
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.capabilities import Capability
from casework.models import Case, Event
from core.users import User

PAST_DAYS = 30  # how far back the feed reaches
FUTURE_DAYS = 2 * 366  # and forward


def feed_events(user: User) -> QuerySet[Event]:
    """The events of the user's own cases: those they are assigned to or (partner lawyers)
    that are shared with them, always within what they may see (Case.objects.visible_to).
    Coordinators see every case of the organisation, but their feed holds only their own."""
    cases = Case.objects.visible_to(user)
    if user.membership.can(Capability.VIEW_ALL_CASES):
        cases = cases.filter(assignments__user=user)
    today = timezone.localdate()
    return (
        Event.objects.filter(
            case__in=cases,
            date__gte=today - timedelta(days=PAST_DAYS),
            date__lte=today + timedelta(days=FUTURE_DAYS),
        )
        .select_related("case")
        .only("pk", "kind", "date", "time", "done", "is_deadline", "case__reference")
        .order_by("date", "time", "pk")
    )


def feed_ics(events: QuerySet[Event], *, stamp: datetime) -> bytes:
    """The events as an iCalendar file, summaries in the active language."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Pristan//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Pristan")
    for event in events:
        entry = icalendar.Event()
        entry.add("uid", f"event-{event.pk}@pristan")
        entry.add("dtstamp", stamp)
        summary = f"{event.case.reference} · {event.get_kind_display()}"
        if event.done:
            summary += " · " + _("done")
        entry.add("summary", summary)
        if event.time is not None:
            start = timezone.make_aware(datetime.combine(event.date, event.time))
            entry.add("dtstart", start)
            entry.add("dtend", start + timedelta(hours=1))
        else:
            entry.add("dtstart", event.date)
            entry.add("dtend", event.date + timedelta(days=1))
        entry.add("transp", "TRANSPARENT")
        calendar.add_component(entry)
    return calendar.to_ical()
