"""N+1 guard: the main pages issue as many SQL queries showing 20 rows as showing 2.

(The speed itself is measured by bench/pages.py, never in tests.)"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework.models import ClientName, Consent, Document, Ground, Membership, Relative
from letters.models import Letter, LetterTemplate, Register
from letters.services import template_save_version
from tests.factories import make_case, make_event, make_note, make_share, make_user

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year


def count_queries(client, url, data=None) -> tuple[int, object]:
    send = client.post if data is not None else client.get
    send(url, data or {})  # the first request of a session may set it up
    with CaptureQueriesContext(connection) as ctx:
        response = send(url, data or {})
    assert response.status_code == 200, url
    return len(ctx.captured_queries), response


def issue_letter(case, *, author, issuer) -> Letter:
    template = LetterTemplate.objects.filter(language="fr").order_by("pk").first()
    version = template.current_version or template_save_version(template=template)
    register, _ = Register.objects.get_or_create(organisation=case.organisation, year=YEAR)
    register.last_number += 1
    register.save()
    return Letter.objects.create(
        case=case,
        template_version=version,
        authority=case.authority,
        language="fr",
        body="Lettre de soutien.",
        author=author,
        status=Letter.Status.ISSUED,
        register=register,
        sequence=register.last_number,
        number=f"{YEAR}/{register.last_number}",
        issued_at=timezone.now(),
        issued_by=issuer,
        signer_name="Maria Signer",
    )


def add_cases(n, *, org, caseworker, volunteer, coordinator):
    """n cases with everything a row of a list shows: grounds, two assignees, an overdue and an
    upcoming deadline, an issued letter."""
    grounds = list(Ground.objects.all()[:2])
    for _ in range(n):
        case = make_case(organisation=org, assignees=[caseworker, volunteer])
        case.grounds.set(grounds)
        make_event(case=case, days=-2)
        make_event(case=case, days=3)
        issue_letter(case, author=caseworker, issuer=coordinator)


def add_to_case(n, *, case, caseworker, coordinator, lawyer):
    """n of every kind of row the case page lists."""
    for i in range(n):
        make_note(case=case, author=caseworker)
        make_event(case=case, days=i - n // 2, created_by=caseworker)
        Relative.objects.create(client=case.client, relation="sibling", full_name=f"Relative {i}")
        ClientName.objects.create(client=case.client, kind="alias", family_name=f"Alias{i}")
        Consent.objects.create(
            case=case, purpose=Consent.Purpose.STATISTICS, recorded_by=caseworker
        )
        Document.objects.create(
            case=case,
            kind=Document.Kind.EVIDENCE,
            title=f"Evidence {i}",
            file=f"documents/00/test-{case.pk}-{i}",
            original_name=f"evidence-{i}.pdf",
            content_type="application/pdf",
            size=100,
            sha256="0" * 64,
            uploaded_by=caseworker,
        )
        # One open referral per case and lawyer: each row its own partner lawyer.
        counsel = make_user(
            organisation=case.organisation, role=Membership.Role.LAWYER, first_name=f"Counsel{i}"
        )
        make_share(case=case, lawyer=counsel, days=30)
        issue_letter(case, author=caseworker, issuer=coordinator)
        case.log(caseworker, "note")


LISTS = {
    "dashboard": ("casework:dashboard", None),
    "case list": ("casework:case_list", None),
    "case list, filtered": ("casework:case_list", {"status": "active", "risk": "medium"}),
    "search by name": ("casework:case_list", {"q": "Зуганшин"}),
    "register": ("letters:register", None),
}


@pytest.mark.parametrize("page", LISTS)
@pytest.mark.parametrize("persona", ["coordinator", "caseworker"])
def test_list_pages_issue_as_many_queries_for_20_rows_as_for_2(
    client, org, caseworker, volunteer, coordinator, persona, page
):
    name, data = LISTS[page]
    url = reverse(name)
    people = {"org": org, "caseworker": caseworker, "volunteer": volunteer}
    add_cases(2, coordinator=coordinator, **people)
    client.force_login({"coordinator": coordinator, "caseworker": caseworker}[persona])
    few, response = count_queries(client, url, data)
    if "page" in response.context:
        assert len(response.context["page"].object_list) == 2
    add_cases(18, coordinator=coordinator, **people)
    many, response = count_queries(client, url, data)
    if "page" in response.context:
        assert len(response.context["page"].object_list) == 20
    assert few == many


@pytest.mark.parametrize("persona", ["coordinator", "caseworker"])
def test_case_page_issues_as_many_queries_for_20_of_everything_as_for_2(
    client, case, caseworker, coordinator, lawyer, persona
):
    people = {"case": case, "caseworker": caseworker, "coordinator": coordinator, "lawyer": lawyer}
    add_to_case(2, **people)
    url = reverse("casework:case_detail", args=[case.reference])
    client.force_login({"coordinator": coordinator, "caseworker": caseworker}[persona])
    few, response = count_queries(client, url)
    assert len(response.context["notes"]) >= 2
    add_to_case(18, **people)
    many, response = count_queries(client, url)
    assert len(response.context["notes"]) >= 20
    assert few == many


def test_dashboard_counts_deadlines_of_the_scope_only(client, org, caseworker, colleague):
    """The dashboard's figures stay within the user's cases (its queries are shared by all)."""
    mine = make_case(organisation=org, assignees=[caseworker])
    theirs = make_case(organisation=org, assignees=[colleague])
    make_event(case=mine, days=-1)
    make_event(case=theirs, days=-1)
    make_event(case=theirs, days=2)
    client.force_login(caseworker)
    response = client.get(reverse("casework:dashboard"))
    assert [event.case for event in response.context["overdue"]] == [mine]
    assert list(response.context["upcoming"]) == []
    assert response.context["total"] == 1
    assert mine.reference.encode() in response.content
    assert theirs.reference.encode() not in response.content


def test_case_list_count_stops_at_the_cap(client, org, coordinator, monkeypatch):
    from core.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "CAP", 2)
    for _ in range(3):
        make_case(organisation=org)
    client.force_login(coordinator)
    response = client.get(reverse("casework:case_list"))
    assert response.context["page"].paginator.more
    assert b"More than 2 cases found" in response.content


def test_dashboard_counts_follow_a_status_change(client, org, coordinator):
    from casework import services

    case = make_case(organisation=org, status="active")
    client.force_login(coordinator)
    counts = dict((v, n) for v, _label, n in client.get("/").context["status_counts"])
    assert counts["active"] == 1
    services.case_change_status(case=case, status="awaiting_decision", by=coordinator)
    counts = dict((v, n) for v, _label, n in client.get("/").context["status_counts"])
    assert counts["active"] == 0 and counts["awaiting_decision"] == 1


@pytest.mark.parametrize("max_ids", [1, 2000])
def test_search_finds_the_same_cases_however_many_clients_match(
    client, org, coordinator, monkeypatch, max_ids
):
    """Past CaseFilter.MAX_CLIENT_IDS matching clients the search uses subqueries, not ids."""
    from casework.filters import CaseFilter

    monkeypatch.setattr(CaseFilter, "MAX_CLIENT_IDS", max_ids)
    cases = [make_case(organisation=org, pseudonym=f"Client P-{n}") for n in range(3)]
    other = make_case(organisation=org, family_name="Ivanova", cyrillic=("Иванова", "Анна"))
    client.force_login(coordinator)
    for query in ("Зуганшин", "Zuganshin", "Client P-"):
        page = client.post(reverse("casework:case_list"), {"q": query}).context["page"]
        assert set(page.object_list) == set(cases), query
    page = client.post(reverse("casework:case_list"), {"q": "Ivanova"}).context["page"]
    assert list(page.object_list) == [other]


HTMX = {"HX-Request": "true", "HX-Target": "results", "HX-Trigger": "case-filter"}


@pytest.mark.parametrize("persona", ["coordinator", "caseworker"])
def test_htmx_filter_partial_issues_as_many_queries_for_20_rows_as_for_2(
    client, org, caseworker, volunteer, coordinator, persona
):
    """The filters as the browser sends them: htmx POSTs the form, gets the results partial."""
    people = {"org": org, "caseworker": caseworker, "volunteer": volunteer}
    url, data = reverse("casework:case_list"), {"status": ["active", "intake"]}
    add_cases(2, coordinator=coordinator, **people)
    client.force_login({"coordinator": coordinator, "caseworker": caseworker}[persona])

    def count() -> int:
        client.post(url, data, headers=HTMX)
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(url, data, headers=HTMX)
        assert response.status_code == 200
        assert b"<title>" not in response.content and b"case-filter" not in response.content
        return len(ctx.captured_queries)

    few = count()
    add_cases(18, coordinator=coordinator, **people)
    assert count() == few


def test_dashboard_queries_do_not_grow_with_overdue_deadlines(client, org, caseworker, case):
    """Past the 20 overdue deadlines shown, more cost no query (the list is limited)."""
    client.force_login(caseworker)
    for n in range(3):
        make_event(case=case, days=-1 - n)
    few, _ = count_queries(client, reverse("casework:dashboard"))
    for n in range(30):
        make_event(case=case, days=-10 - n)
    many, response = count_queries(client, reverse("casework:dashboard"))
    assert response.context["overdue_more"]
    assert few == many


def test_calendar_feed_issues_as_many_queries_for_20_events_as_for_2(client, caseworker, case):
    from django.test import Client, RequestFactory

    from accounts import feeds

    request = RequestFactory().get("/")
    request.user = caseworker
    url = reverse(
        "accounts:calendar_feed",
        args=[feeds.calendar_feed_create(user=caseworker, request=request)],
    )
    feed = Client()
    for n in range(2):
        make_event(case=case, days=n + 1)
    few, _ = count_queries(feed, url)
    for n in range(18):
        make_event(case=case, days=n + 5)
    many, response = count_queries(feed, url)
    assert response.content.count(b"BEGIN:VEVENT") == 20
    assert few == many
