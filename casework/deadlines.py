"""Deadlines that follow from events: which rule applies to an event, the date it gives, and
the computed deadline event kept in step with its source event.

Counting follows the French and German codes, which agree on it (CPC art. 640–642, § 222 ZPO
with §§ 187, 188, 193 BGB): the day of the event does not count; a period in months ends on the
day of the last month with the same number, or on that month's last day when it has none (one
month from 31 January is the last day of February); a rule may move a deadline that falls on a
weekend or public holiday to the next working day. Working days skip weekends and the public
holidays of the rule's country (and region), from the `holidays` library.
"""

import calendar
import datetime
import functools
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from casework.models import Authority, Case, DeadlineRule, Event

Unit = DeadlineRule.Unit


@functools.cache
def _holidays(country: str, subdivision: str) -> holidays.HolidayBase:
    # One calendar per jurisdiction per process; it fills in the years it is asked about.
    return holidays.country_holidays(country, subdiv=subdivision or None)


def is_working_day(day: date, *, country: str, subdivision: str = "") -> bool:
    return day.weekday() < 5 and day not in _holidays(country, subdivision)


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Due:
    date: datetime.date
    # The date the period itself ended on, when that was not a working day and the rule moved
    # the deadline to the next one.
    moved_from: datetime.date | None = None


def due_date(rule: DeadlineRule, start: date) -> Due:
    """The last day to act, counted from `start` (the day of the event, which does not count)."""
    country = str(rule.country)
    subdivision = rule.subdivision
    if rule.unit == Unit.MONTHS:
        end = add_months(start, rule.period)
    elif rule.unit == Unit.WORKING_DAYS:
        end, left = start, rule.period
        while left:
            end += timedelta(days=1)
            if is_working_day(end, country=country, subdivision=subdivision):
                left -= 1
    else:
        end = start + timedelta(days=rule.period)
    if not rule.next_working_day or is_working_day(end, country=country, subdivision=subdivision):
        return Due(end)
    moved = end
    while not is_working_day(moved, country=country, subdivision=subdivision):
        moved += timedelta(days=1)
    return Due(moved, moved_from=end)


def _authority(event: Event, case: Case) -> Authority | None:
    return event.authority or case.authority


def rule_for(event: Event) -> DeadlineRule | None:
    """The rule that applies to this event, or None. A rule names an event kind and a country
    (the authority's, else the case's destination) and may narrow itself to an authority, an
    authority kind or a decision's outcome; the most specific applicable rule wins, then an
    organisation's own over a shared one."""
    case = event.case
    authority = _authority(event, case)
    country = str(authority.country) if authority else str(case.destination_country or "")
    if not country:
        return None
    candidates = DeadlineRule.objects.for_organisation(case.organisation_id).filter(
        active=True, event_kind=event.kind, country=country
    )
    if authority is None:
        candidates = candidates.filter(authority=None, authority_kind="")
    else:
        candidates = candidates.filter(
            Q(authority=None) | Q(authority=authority),
            Q(authority_kind="") | Q(authority_kind=authority.kind),
        )
    if event.outcome == Event.Outcome.GRANTED:
        candidates = candidates.filter(outcome=Event.Outcome.GRANTED)
    else:
        candidates = candidates.filter(Q(outcome="") | Q(outcome=event.outcome))

    def specificity(rule: DeadlineRule) -> tuple[bool, bool, bool, bool, int]:
        return (
            rule.authority_id is not None,
            bool(rule.outcome),
            bool(rule.authority_kind),
            rule.organisation_id is not None,
            -rule.pk,
        )

    return max(candidates, key=specificity, default=None)


def _period(rule: DeadlineRule) -> str:
    n = rule.period
    if rule.unit == Unit.MONTHS:
        return ngettext("%(n)d month", "%(n)d months", n) % {"n": n}
    if rule.unit == Unit.WORKING_DAYS:
        return ngettext("%(n)d working day", "%(n)d working days", n) % {"n": n}
    return ngettext("%(n)d calendar day", "%(n)d calendar days", n) % {"n": n}


# How each start reads in the explanation, with its date.
START_PHRASES = {
    DeadlineRule.Start.NOTIFICATION: gettext_noop("from notification on %(date)s"),
    DeadlineRule.Start.SERVICE: gettext_noop("from service on %(date)s"),
    DeadlineRule.Start.DECISION: gettext_noop("from the decision of %(date)s"),
    DeadlineRule.Start.ARRIVAL: gettext_noop("from arrival on %(date)s"),
}


def explanation(rule: DeadlineRule, start: date, due: Due) -> str:
    """How the deadline was reached, in the active language: "CNDA appeal — 1 month from
    notification on March 3, 2027 (rule: CESEDA art. L532-1)". Default rule names are in the
    translation catalogue (casework.defaults); an administrator's own are shown as written."""
    text = _("%(name)s — %(period)s %(start)s (rule: %(source)s)") % {
        "name": _(rule.name),
        "period": _period(rule),
        "start": _(START_PHRASES[DeadlineRule.Start(rule.starts_from)])
        % {"date": formats.date_format(start, "DATE_FORMAT")},
        "source": rule.source,
    }
    if due.moved_from:
        text += " " + _("%(date)s is not a working day: moved to the next one.") % {
            "date": formats.date_format(due.moved_from, "DATE_FORMAT")
        }
    return text[:200]  # Event.title's length


def sync_computed(event: Event, *, by) -> list[Event]:
    """Create, update or remove the deadline computed from `event` by its rule. Once someone
    has changed that deadline by hand it is theirs: the event no longer touches it or makes
    another. Returns the computed deadlines that changed (created or updated), for the case's
    history."""
    if event.computed.filter(changed_by_hand=True).exists():
        return []  # the user has taken the deadline over
    rule = rule_for(event)
    computed = list(event.computed.all())
    if rule is None:
        for deadline in computed:
            deadline.delete()
        return []
    due = due_date(rule, event.date)
    title = explanation(rule, event.date, due)
    deadline = computed[0] if computed else Event(case=event.case, source=event, created_by=by)
    for stale in computed[1:]:
        stale.delete()
    changed = (deadline.pk is None, deadline.date, deadline.title, deadline.rule_id) != (
        False,
        due.date,
        title,
        rule.pk,
    )
    if not changed:
        return []
    deadline.kind = rule.deadline_kind
    deadline.date = due.date
    deadline.title = title
    deadline.rule = rule
    deadline.is_deadline = True
    deadline.save()
    return [deadline]
