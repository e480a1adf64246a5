"""The personal calendar feed: a secret address per user, stored hashed, revocable; the feed
carries the case reference, the event's kind and its time only, for the cases the user may
see, and every read is in the access log."""

import re
from datetime import time

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import feed_views
from accounts.feeds import token_hash
from accounts.models import CalendarFeed, OrganisationLockdown
from casework.models import AccessEvent, Membership
from tests.factories import make_case, make_event, make_user

CLIENT_NAMES = ["Зуганшин", "Рустам", "Zuganshin", "Rustam", "Falcon"]
TITLE = "Hearing of Zuganshin at the CNDA"
PLACE = "Montreuil, salle 4"


def _make_feed(client: Client, user) -> str:
    """Make the user's feed through the security page; returns the feed's path."""
    client.force_login(user)
    response = client.post(reverse("accounts:calendar_feed_manage"), {"action": "create"})
    assert response.status_code == 200
    url = re.search(
        r'value="(http://testserver(/accounts/calendar/[^"]+/))"', response.content.decode()
    )
    assert url, "the new address is shown"
    return url[2]


def _read(path: str):
    return Client().get(path)  # the calendar application: no session


@pytest.fixture
def events(case):
    hearing = make_event(case=case, days=10, kind="hearing", title=TITLE, location=PLACE)
    hearing.time = time(9, 30)
    hearing.save()
    deadline = make_event(case=case, days=20, title="Appeal for Rustam Zuganshin")
    return hearing, deadline


def test_the_feed_has_the_reference_kind_and_time_and_no_name_title_or_place(
    client, caseworker, case, events
):
    caseworker.language = "en"  # the feed speaks its owner's language
    caseworker.save()
    path = _make_feed(client, caseworker)
    response = _read(path)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    for secret in [*CLIENT_NAMES, TITLE, PLACE, "Appeal for", case.client.pseudonym]:
        assert secret not in text, secret
    calendar = icalendar.Calendar.from_ical(response.content)
    entries = sorted((str(e["summary"]), e.decoded("dtstart")) for e in calendar.walk("VEVENT"))
    hearing, deadline = events
    assert [summary for summary, _ in entries] == [
        f"{case.reference} · Appeal deadline",
        f"{case.reference} · Hearing",
    ]
    starts = {e.decoded("dtstart") for e in calendar.walk("VEVENT")}
    assert deadline.date in starts  # a deadline is a whole day
    assert any(getattr(s, "hour", None) is not None for s in starts)  # a hearing has its time
    for entry in calendar.walk("VEVENT"):
        assert set(entry) <= {"UID", "DTSTAMP", "SUMMARY", "DTSTART", "DTEND", "TRANSP"}


def test_only_a_hash_of_the_token_is_stored(client, caseworker):
    path = _make_feed(client, caseworker)
    token = path.rstrip("/").rsplit("/", 1)[1]
    feed = CalendarFeed.objects.get(user=caseworker)
    assert feed.token_hash == token_hash(token) != token
    assert not CalendarFeed.objects.filter(token_hash__contains=token).exists()


def test_the_feed_fails_after_revocation(client, caseworker, case, events):
    path = _make_feed(client, caseworker)
    assert _read(path).status_code == 200

    response = client.post(reverse("accounts:calendar_feed_manage"), {"action": "revoke"})

    assert response.status_code == 302
    assert _read(path).status_code == 404
    assert not CalendarFeed.objects.filter(user=caseworker).exists()
    assert AccessEvent.objects.filter(object_type="calendar_feed_revoked").exists()


def test_a_new_address_replaces_the_old_one(client, caseworker, case, events):
    old = _make_feed(client, caseworker)
    new = _make_feed(client, caseworker)
    assert old != new
    assert _read(old).status_code == 404
    assert _read(new).status_code == 200


def test_a_wrong_token_lists_nothing_and_looks_like_a_revoked_one(client, caseworker, events):
    _make_feed(client, caseworker)
    wrong = reverse("accounts:calendar_feed", args=["x" * 43])
    response = _read(wrong)
    assert response.status_code == 404
    assert b"VEVENT" not in response.content
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.LIST).exists()


def test_every_read_is_in_the_access_log_as_the_feeds_owner(client, caseworker, events):
    path = _make_feed(client, caseworker)
    _read(path)
    entry = AccessEvent.objects.get(action=AccessEvent.Action.LIST, object_type="calendar_feed")
    assert entry.user == caseworker
    assert entry.path_name == "accounts:calendar_feed"
    created = AccessEvent.objects.get(action=AccessEvent.Action.SECURITY)
    assert created.object_type == "calendar_feed"


@pytest.mark.parametrize(
    ("persona", "sees_case"),
    [
        ("caseworker", True),
        ("volunteer", True),
        ("lawyer", True),  # an active share
        ("colleague", False),
        ("lawyer_expired", False),
        ("outsider", False),
        ("coordinator", False),  # sees every case, but the feed is their own cases only
    ],
)
def test_the_feed_holds_only_cases_the_user_may_see(
    client, personas, case, other_case, events, persona, sees_case
):
    make_event(case=other_case, days=4)
    path = _make_feed(client, personas[persona])
    text = _read(path).content.decode()
    assert (case.reference in text) is sees_case
    if persona != "colleague":
        assert other_case.reference not in text
    else:
        assert other_case.reference in text


def test_a_coordinators_feed_has_the_cases_assigned_to_them(client, org, coordinator, events):
    mine = make_case(organisation=org, assignees=[coordinator], reference="2026-7001")
    make_event(case=mine, days=2)
    text = _read(_make_feed(client, coordinator)).content.decode()
    assert "2026-7001" in text


def test_the_feed_ends_with_the_users_access(client, caseworker, case, events):
    path = _make_feed(client, caseworker)
    caseworker.locked_at = timezone.now()
    caseworker.save()
    assert _read(path).status_code == 404
    caseworker.locked_at = None
    caseworker.is_active = False
    caseworker.save()
    assert _read(path).status_code == 404


def test_the_feed_stops_during_an_organisation_lockdown(client, caseworker, org, case, events):
    path = _make_feed(client, caseworker)
    OrganisationLockdown.objects.create(organisation=org)
    assert _read(path).status_code == 404


def test_the_feed_is_rate_limited_per_address(client, caseworker, monkeypatch, events):
    monkeypatch.setattr(feed_views, "FEED_RATE", 3)
    path = _make_feed(client, caseworker)
    statuses = [_read(path).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    wrong = reverse("accounts:calendar_feed", args=["y" * 43])
    assert _read(wrong).status_code == 429  # guessing is limited too


def test_the_security_page_says_what_the_feed_carries(client, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("accounts:security"), headers={"accept-language": "en"})
    text = page.content.decode()
    assert "Calendar services keep what they receive" in text
    assert "never a name, a title or a place" in text
    _make_feed(client, caseworker)
    text = client.get(reverse("accounts:security"), headers={"accept-language": "en"})
    text = text.content.decode()
    assert "Revoke" in text


def test_anonymous_users_cannot_make_a_feed(caseworker):
    response = Client().post(reverse("accounts:calendar_feed_manage"), {"action": "create"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not CalendarFeed.objects.exists()


def test_an_auditor_gets_an_empty_feed(client, org):
    auditor = make_user(organisation=org, role=Membership.Role.AUDITOR)
    response = _read(_make_feed(client, auditor))
    assert response.status_code == 200
    assert b"VEVENT" not in response.content


def test_a_kept_feed_follows_every_change_to_its_events(client, caseworker, case, events):
    """The feed is kept in the cache under a hash of its content: a moved, finished, added or
    removed event, or another language, is in the next read."""
    hearing, deadline = events
    path = _make_feed(client, caseworker)

    def summaries_and_dates():
        calendar = icalendar.Calendar.from_ical(_read(path).content)
        return {(str(e["summary"]), e["dtstart"].dt) for e in calendar.walk("VEVENT")}

    first = summaries_and_dates()
    assert summaries_and_dates() == first  # read again: the kept copy, the same feed

    deadline.date += timezone.timedelta(days=3)
    deadline.save()
    assert (f"{case.reference} · Appeal deadline", deadline.date) in summaries_and_dates()

    deadline.done = True
    deadline.save()
    assert any("· done" in summary for summary, _date in summaries_and_dates())

    hearing.delete()
    assert len(summaries_and_dates()) == 1

    caseworker.language = "ru"
    caseworker.save()
    assert {summary for summary, _date in summaries_and_dates()} == {
        f"{case.reference} · Срок обжалования · выполнено"
    }
