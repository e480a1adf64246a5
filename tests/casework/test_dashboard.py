"""The dashboard's cached status counts, its capped deadline lists and a cache outage."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casework import selectors, services
from casework.models import Assignment, Case
from tests.factories import make_case, make_event
from tests.helpers import BROKEN_CACHE

pytestmark = pytest.mark.django_db


def counts(client) -> dict[str, int]:
    response = client.get(reverse("casework:dashboard"))
    assert response.status_code == 200
    return {value: n for value, _label, n in response.context["status_counts"] if n}


def count_queries(sql: list[str]) -> int:
    return sum('GROUP BY "casework_case"."status"' in q for q in sql)


def test_caseworker_counts_are_cached(client, caseworker, case):
    client.force_login(caseworker)
    counts(client)
    with CaptureQueriesContext(connection) as ctx:
        assert counts(client) == {case.status: 1}
    assert count_queries([q["sql"] for q in ctx.captured_queries]) == 0


def test_caseworker_counts_follow_a_status_change(client, caseworker, coordinator, case):
    client.force_login(caseworker)
    assert counts(client) == {"active": 1}
    services.case_change_status(case=case, status="awaiting_decision", by=coordinator)
    assert counts(client) == {"awaiting_decision": 1}


def test_caseworker_counts_follow_assignments(
    client, org, caseworker, colleague, coordinator, case
):
    other = make_case(organisation=org, assignees=[colleague], status="intake")
    client.force_login(caseworker)
    assert counts(client) == {"active": 1}
    services.case_assign(case=other, users=[colleague, caseworker], by=coordinator)
    assert counts(client) == {"active": 1, "intake": 1}
    services.case_assign(case=case, users=[colleague], by=coordinator)
    assert counts(client) == {"intake": 1}
    # One removed and one added at once: the same number of assignments, a newer one.
    third = make_case(organisation=org, assignees=[colleague], status="appeal")
    Assignment.objects.filter(case=other, user=caseworker).delete()
    Assignment.objects.create(case=third, user=caseworker)
    assert counts(client) == {"appeal": 1}


def test_colleagues_do_not_share_cached_counts(client, org, caseworker, colleague, case):
    make_case(organisation=org, assignees=[colleague], status="intake")
    client.force_login(caseworker)
    assert counts(client) == {"active": 1}
    client.force_login(colleague)
    assert counts(client) == {"intake": 1}


@pytest.mark.parametrize("persona", ["coordinator", "caseworker"])
def test_dashboard_works_without_a_cache_server(client, settings, case, persona, request):
    make_event(case=case, days=-1)
    client.force_login(request.getfixturevalue(persona))
    settings.CACHES = {"default": BROKEN_CACHE}
    response = client.get(reverse("casework:dashboard"))
    assert response.status_code == 200
    assert [e.case for e in response.context["overdue"]] == [case]
    assert response.context["total"] == 1


def test_deadline_lists_are_capped_and_say_so(client, caseworker, case):
    for n in range(selectors.DASHBOARD_OVERDUE + 2):
        make_event(case=case, days=-1 - n)
    make_event(case=case, days=0)
    make_event(case=case, days=15)  # beyond the two weeks
    client.force_login(caseworker)
    response = client.get(reverse("casework:dashboard"))
    overdue = response.context["overdue"]
    assert len(overdue) == selectors.DASHBOARD_OVERDUE
    assert [e.date for e in overdue] == sorted(e.date for e in overdue)
    assert response.context["overdue_more"]
    assert len(response.context["upcoming"]) == 1
    assert not response.context["upcoming_more"]
    assert f">{selectors.DASHBOARD_OVERDUE}+</span>".encode() in response.content


def test_open_deadlines_split_overdue_and_upcoming(caseworker, case):
    late, soon = make_event(case=case, days=-3), make_event(case=case, days=2)
    make_event(case=case, days=-1, done=True)
    overdue, upcoming = selectors.open_deadlines(caseworker)
    assert (overdue, upcoming) == ([late], [soon])


@pytest.mark.parametrize(
    "persona",
    ["caseworker", "colleague", "volunteer", "coordinator", "lawyer", "auditor", "outsider"],
)
def test_open_deadlines_are_those_of_the_visible_cases(
    persona, request, case, other_case, other_org
):
    """The assigned-cases shortcut (ids sent as a list) gives what visible_to gives, for every
    persona; an assignment left on a case of another organisation shows nothing of it."""
    user = request.getfixturevalue(persona)
    foreign = make_case(organisation=other_org, assignees=[user], pseudonym="Foreign")
    for c in (case, other_case, foreign):
        make_event(case=c, days=-2)
        make_event(case=c, days=5)
    overdue, upcoming = selectors.open_deadlines(user)
    visible = set(Case.objects.visible_to(user).values_list("pk", flat=True))
    expected_cases = visible & {case.pk, other_case.pk, foreign.pk}
    assert {e.case_id for e in overdue} == expected_cases
    assert {e.case_id for e in upcoming} == expected_cases
    assert foreign.pk not in {e.case_id for e in overdue + upcoming} or persona == "outsider"


def test_assigned_scope_is_for_assigned_case_readers_only(caseworker, coordinator, case):
    assert Case.objects.assigned_scope(coordinator) is None
    organisation_id, ids = Case.objects.assigned_scope(caseworker)
    assert (organisation_id, ids) == (case.organisation_id, [case.pk])
