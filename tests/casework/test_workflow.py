"""The life of a case: status transitions, assignment, sharing, events and the dashboard."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from casework.models import Assignment, Case, CaseLogEntry, Event
from tests.factories import make_case, make_event

Status = Case.Status
ALLOWED = [(old, new) for old, targets in Case.TRANSITIONS.items() for new in targets]
DISALLOWED = [
    (old, new)
    for old in Status.values
    for new in Status.values
    if new not in Case.TRANSITIONS[old] and new != old
]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- statuses -------------------------------------------------------------------------------


def test_transitions_cover_every_status():
    assert set(Case.TRANSITIONS) == set(Status.values)
    for old, targets in Case.TRANSITIONS.items():
        assert targets, f"{old} is a dead end"
        assert set(targets) <= set(Status.values)
        assert old not in targets


def test_every_status_is_reachable_from_intake_and_can_close():
    reached, frontier = {Status.INTAKE.value}, [Status.INTAKE.value]
    while frontier:
        for new in Case.TRANSITIONS[frontier.pop()]:
            if new not in reached:
                reached.add(new)
                frontier.append(new)
    assert reached == set(Status.values)
    assert all(Status.CLOSED in targets for s, targets in Case.TRANSITIONS.items() if s != "closed")


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=[f"{o}->{n}" for o, n in ALLOWED])
def test_allowed_transition_succeeds_and_is_logged(client, org, caseworker, old, new):
    case = make_case(organisation=org, assignees=[caseworker], status=old)
    client.force_login(caseworker)

    response = client.post(reverse("casework:case_status", args=[case.reference]), {"status": new})

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == new
    assert (case.closed_at == timezone.localdate()) == (new == Status.CLOSED)
    if new != Status.CLOSED:
        assert case.closed_at is None
    entry = case.log_entries.get(action=CaseLogEntry.Action.STATUS)
    assert (entry.actor, entry.detail) == (caseworker, f"{old} → {new}")
    assert any(str(Status(new).label) in m for m in _messages(response))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("intake", "granted"),
        ("intake", "letter_issued"),
        ("granted", "refused"),
        ("closed", "appeal"),
    ]
    + [("active", "no_such_status"), ("active", "")],
)
def test_disallowed_transition_is_refused_with_a_message(client, org, caseworker, old, new):
    case = make_case(organisation=org, assignees=[caseworker], status=old)
    client.force_login(caseworker)

    response = client.post(reverse("casework:case_status", args=[case.reference]), {"status": new})

    assert response.status_code == 302
    assert response["Location"] == reverse("casework:case_detail", args=[case.reference])
    case.refresh_from_db()
    assert case.status == old
    assert not case.log_entries.exists()
    assert _messages(response), "the refusal must be explained"
    page = client.get(response["Location"])
    assert b"not allowed" in page.content


@pytest.mark.parametrize(("old", "new"), DISALLOWED, ids=[f"{o}->{n}" for o, n in DISALLOWED])
def test_model_refuses_every_disallowed_transition(org, coordinator, old, new):
    from django.core.exceptions import ValidationError

    case = make_case(organisation=org, status=old)
    with pytest.raises(ValidationError):
        case.change_status(new, by=coordinator)
    case.refresh_from_db()
    assert case.status == old


def test_status_change_needs_post(client, case, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("casework:case_status", args=[case.reference]))
    assert response.status_code == 405


def test_case_page_offers_only_the_allowed_transitions(client, case, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("casework:case_detail", args=[case.reference]))
    choices = [value for value, _label in response.context["status_form"].fields["status"].choices]
    assert choices == list(Case.TRANSITIONS[case.status])


def test_closing_and_reopening_clears_the_closing_date(client, case, coordinator):
    client.force_login(coordinator)
    url = reverse("casework:case_status", args=[case.reference])
    client.post(url, {"status": "closed"})
    case.refresh_from_db()
    assert case.closed_at == timezone.localdate()
    client.post(url, {"status": "active"})
    case.refresh_from_db()
    assert (case.status, case.closed_at) == ("active", None)


# --- assignment -----------------------------------------------------------------------------


def test_coordinator_reassigns_and_the_unassigned_caseworker_loses_access(
    client, case, coordinator, caseworker, volunteer, colleague
):
    detail = reverse("casework:case_detail", args=[case.reference])
    client.force_login(coordinator)

    response = client.post(
        reverse("casework:case_assign", args=[case.reference]),
        {"users": [volunteer.pk, colleague.pk]},
    )

    assert response.status_code == 302
    assert set(case.assignments.values_list("user", flat=True)) == {volunteer.pk, colleague.pk}
    assert Assignment.objects.get(case=case, user=colleague).assigned_by == coordinator
    assigned = case.log_entries.filter(action=CaseLogEntry.Action.ASSIGNED)
    unassigned = case.log_entries.filter(action=CaseLogEntry.Action.UNASSIGNED)
    assert list(assigned.values_list("detail", flat=True)) == ["colleague"]
    assert list(unassigned.values_list("detail", flat=True)) == ["caseworker"]

    client.force_login(caseworker)
    assert client.get(detail).status_code == 404
    assert case.reference.encode() not in client.get(reverse("casework:case_list")).content
    client.force_login(colleague)
    assert client.get(detail).status_code == 200


def test_assign_form_starts_with_the_current_team(client, case, coordinator, caseworker, volunteer):
    client.force_login(coordinator)
    response = client.get(reverse("casework:case_assign", args=[case.reference]))
    assert {u.pk for u in response.context["form"].initial["users"]} == {
        caseworker.pk,
        volunteer.pk,
    }


def test_saving_the_same_team_again_changes_nothing(
    client, case, coordinator, caseworker, volunteer
):
    client.force_login(coordinator)
    client.post(
        reverse("casework:case_assign", args=[case.reference]),
        {"users": [caseworker.pk, volunteer.pk]},
    )
    assert case.assignments.count() == 2
    assert not case.log_entries.exists()


def test_lawyers_and_auditors_cannot_be_assigned(client, case, coordinator, lawyer, auditor):
    client.force_login(coordinator)
    for user in (lawyer, auditor):
        response = client.post(
            reverse("casework:case_assign", args=[case.reference]), {"users": [user.pk]}
        )
        assert response.status_code == 200
        assert not Assignment.objects.filter(user=user).exists()


# --- events ---------------------------------------------------------------------------------


def test_caseworker_adds_an_event(client, case, caseworker):
    client.force_login(caseworker)
    date = timezone.localdate() + timedelta(days=12)

    response = client.post(
        reverse("casework:event_add", args=[case.reference]),
        {
            "kind": "interview",
            "title": "OFPRA interview",
            "date": date.isoformat(),
            "time": "09:30",
        },
    )

    assert response.status_code == 302
    event = Event.objects.get(case=case)
    assert (event.title, event.date, event.created_by, event.done) == (
        "OFPRA interview",
        date,
        caseworker,
        False,
    )
    assert event.is_deadline is False
    assert case.log_entries.filter(action=CaseLogEntry.Action.EVENT, actor=caseworker).exists()


@pytest.mark.parametrize("kind", [k.value for k in Event.DEADLINE_KINDS])
def test_deadline_kinds_are_always_deadlines(client, case, caseworker, kind):
    client.force_login(caseworker)
    client.post(
        reverse("casework:event_add", args=[case.reference]),
        {"kind": kind, "title": "Deadline", "date": timezone.localdate().isoformat()},
    )
    assert Event.objects.get(case=case).is_deadline is True


def test_marking_an_event_done(client, case, caseworker):
    event = make_event(case=case, days=-1)
    client.force_login(caseworker)

    response = client.post(reverse("casework:event_done", args=[case.reference, event.pk]))

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.done is True
    assert not event.is_overdue
    assert case.log_entries.filter(action=CaseLogEntry.Action.EVENT_DONE).exists()


def test_marking_done_needs_post(client, case, caseworker):
    event = make_event(case=case)
    client.force_login(caseworker)
    response = client.get(reverse("casework:event_done", args=[case.reference, event.pk]))
    assert response.status_code == 405
    event.refresh_from_db()
    assert event.done is False


# --- the dashboard --------------------------------------------------------------------------


@pytest.fixture
def deadlines(case):
    return {
        "overdue": make_event(case=case, days=-2, title="Overdue appeal"),
        "today": make_event(case=case, days=0, kind=Event.Kind.SUBMISSION),
        "upcoming": make_event(case=case, days=14, kind=Event.Kind.STAY_EXPIRY),
        "too_far": make_event(case=case, days=15),
        "done": make_event(case=case, days=3, done=True),
        "done_overdue": make_event(case=case, days=-3, done=True),
        "not_a_deadline": make_event(case=case, days=2, kind=Event.Kind.INTERVIEW),
    }


def test_dashboard_shows_overdue_and_next_14_days_deadlines(client, case, caseworker, deadlines):
    client.force_login(caseworker)

    response = client.get(reverse("casework:dashboard"))

    assert response.status_code == 200
    assert [e.pk for e in response.context["overdue"]] == [deadlines["overdue"].pk]
    assert [e.pk for e in response.context["upcoming"]] == [
        deadlines["today"].pk,
        deadlines["upcoming"].pk,
    ]
    content = response.content.decode()
    overdue_section = content[content.index('id="overdue-h"') : content.index('id="upcoming-h"')]
    upcoming_section = content[content.index('id="upcoming-h"') : content.index('id="mine-h"')]
    assert case.reference in overdue_section
    assert case.reference in upcoming_section
    assert [c.pk for c in response.context["my_cases"]] == [case.pk]


def test_dashboard_deadlines_follow_the_assignment(client, case, colleague, coordinator, deadlines):
    client.force_login(colleague)
    response = client.get(reverse("casework:dashboard"))
    assert not response.context["overdue"] and not response.context["upcoming"]
    assert case.reference.encode() not in response.content

    client.force_login(coordinator)
    response = client.get(reverse("casework:dashboard"))
    assert [e.pk for e in response.context["overdue"]] == [deadlines["overdue"].pk]


def test_closed_cases_leave_my_open_cases(client, org, caseworker):
    open_case = make_case(organisation=org, assignees=[caseworker])
    make_case(organisation=org, assignees=[caseworker], status=Status.CLOSED)
    client.force_login(caseworker)
    response = client.get(reverse("casework:dashboard"))
    assert [c.pk for c in response.context["my_cases"]] == [open_case.pk]
    assert response.context["total"] == 2


def test_user_without_membership_sees_the_no_membership_page(client, django_user_model):
    user = django_user_model.objects.create_user(username="nobody", password="x" * 20)
    client.force_login(user)
    response = client.get(reverse("casework:dashboard"))
    assert response.status_code == 403
    assert client.get(reverse("casework:case_list")).context["page"].paginator.count == 0


def test_deadline_filter_on_the_case_list(client, org, coordinator):
    soon = make_case(organisation=org, reference="2026-5001")
    late = make_case(organisation=org, reference="2026-5002")
    overdue = make_case(organisation=org, reference="2026-5003")
    make_event(case=soon, days=5)
    make_event(case=late, days=25)
    make_event(case=overdue, days=-1)
    client.force_login(coordinator)

    def refs(value):
        response = client.get(reverse("casework:case_list"), {"deadline": value})
        return {c.reference for c in response.context["page"].object_list}

    assert refs("7") == {"2026-5001"}
    assert refs("30") == {"2026-5001", "2026-5002"}
    assert refs("overdue") == {"2026-5003"}
