"""Deadlines that compute themselves: the shipped rules across month ends and public holidays,
the deadline a decision brings with it (explained in the user's language), and how it follows
the decision until someone changes it by hand."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from casework import deadlines, services
from casework.defaults import DEADLINE_RULES, load_defaults
from casework.models import (
    Authority,
    CaseLogEntry,
    ChecklistItem,
    DeadlineRule,
    Event,
    Procedure,
)
from tests.factories import make_case, make_event, make_organisation

Outcome = Event.Outcome


@pytest.fixture
def rules(db):
    """The shipped rules (a data migration loads them; loaded again if a flush removed them)."""
    load_defaults(DeadlineRule, Procedure, ChecklistItem)
    return {r.name: r for r in DeadlineRule.objects.filter(organisation=None)}


# (rule, start, end of the period, due date): one start whose period crosses a month end, one
# whose period ends on a public holiday of the rule's country.
SHIPPED = [
    # One month from 31 January: the last day of February, a Sunday in 2027 → Monday.
    ("CNDA appeal", date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 1)),
    ("CNDA appeal", date(2028, 1, 31), date(2028, 2, 29), date(2028, 2, 29)),
    ("CNDA appeal", date(2027, 6, 14), date(2027, 7, 14), date(2027, 7, 15)),  # Fête nationale
    ("Action at the Verwaltungsgericht", date(2027, 1, 20), date(2027, 2, 3), date(2027, 2, 3)),
    # Two weeks from 11 December 2026: Christmas Day, Boxing Day, a Sunday → Monday 28th.
    (
        "Action at the Verwaltungsgericht",
        date(2026, 12, 11),
        date(2026, 12, 25),
        date(2026, 12, 28),
    ),
    (
        "Action at the Verwaltungsgericht (manifestly unfounded)",
        date(2027, 1, 27),
        date(2027, 2, 3),
        date(2027, 2, 3),
    ),
    # One week from 19 March 2027: Good Friday, the weekend, Easter Monday → Tuesday.
    (
        "Action at the Verwaltungsgericht (manifestly unfounded)",
        date(2027, 3, 19),
        date(2027, 3, 26),
        date(2027, 3, 30),
    ),
    # One year from 29 February 2028: 28 February 2029.
    ("One-year asylum filing deadline", date(2028, 2, 29), date(2029, 2, 28), date(2029, 2, 28)),
    # One year from 5 July 2026: Independence Day observed on Monday 5 July 2027 → Tuesday.
    ("One-year asylum filing deadline", date(2026, 7, 5), date(2027, 7, 5), date(2027, 7, 6)),
    ("Appeal to the Board of Immigration Appeals", date(2027, 1, 31), date(2027, 3, 2), None),
    # 30 days from 19 December 2026: Martin Luther King Jr. Day 2027 → Tuesday.
    (
        "Appeal to the Board of Immigration Appeals",
        date(2026, 12, 19),
        date(2027, 1, 18),
        date(2027, 1, 19),
    ),
    ("Appeal to the First-tier Tribunal", date(2027, 1, 25), date(2027, 2, 8), None),
    # 14 days from 15 March 2027: Easter Monday in England → Tuesday.
    ("Appeal to the First-tier Tribunal", date(2027, 3, 15), date(2027, 3, 29), date(2027, 3, 30)),
]


@pytest.mark.parametrize(("name", "start", "end", "due"), SHIPPED)
def test_shipped_rule_across_month_ends_and_public_holidays(rules, name, start, end, due):
    result = deadlines.due_date(rules[name], start)
    assert result.date == (due or end)
    assert result.moved_from == (end if due and due != end else None)


def test_every_shipped_rule_is_tested_and_says_confirm_with_your_lawyers(rules):
    assert {name for name, *_ in SHIPPED} == {r["name"] for r in DEADLINE_RULES}
    for rule in rules.values():
        assert "confirm with your lawyers" in rule.note
        assert rule.source and rule.checked_on


def test_months_end_on_the_last_day_of_a_shorter_month():
    assert deadlines.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert deadlines.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert deadlines.add_months(date(2027, 3, 31), 1) == date(2027, 4, 30)
    assert deadlines.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert deadlines.add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)


def test_working_days_skip_weekends_and_the_countrys_holidays(db):
    rule = DeadlineRule(name="Test", country="FR", period=5, unit=DeadlineRule.Unit.WORKING_DAYS)
    # From Wednesday 7 July 2027: 8, 9, 12, 13, (14 is the Fête nationale) 15.
    assert deadlines.due_date(rule, date(2027, 7, 7)).date == date(2027, 7, 15)


def test_a_rule_that_does_not_move_keeps_the_weekend_day(rules):
    rule = rules["CNDA appeal"]
    rule.next_working_day = False
    assert deadlines.due_date(rule, date(2027, 1, 31)) == deadlines.Due(date(2027, 2, 28))


# --- the deadline a decision brings -------------------------------------------------------------


def _decision(case, by, *, on=date(2027, 3, 3), outcome=Outcome.REFUSED, authority=None):
    event = Event(
        kind=Event.Kind.DECISION, title="Décision OFPRA", date=on, outcome=outcome,
        authority=authority,
    )  # fmt: skip
    return services.event_add(case=case, event=event, by=by)


def test_a_refusal_by_ofpra_brings_the_cnda_appeal_deadline_explained(rules, case, caseworker):
    with translation.override("en"):
        decision = _decision(case, caseworker)

    (deadline,) = decision.computed.all()
    assert deadline.kind == Event.Kind.APPEAL_DEADLINE and deadline.is_deadline
    assert deadline.date == date(2027, 4, 5)  # 3 April 2027 is a Saturday
    assert deadline.title.startswith(
        "CNDA appeal — 1 month from notification on 3 March 2027 "
        "(rule: CESEDA art. L532-1; CPC art. 640–642)"
    )
    assert "is not a working day" in deadline.title
    assert deadline.rule == rules["CNDA appeal"]
    assert case.log_entries.filter(action=CaseLogEntry.Action.EVENT).count() == 2


def test_the_explanation_is_in_the_users_language(rules, case, caseworker):
    with translation.override("ru"):
        decision = _decision(case, caseworker, on=date(2027, 3, 3))
    (deadline,) = decision.computed.all()
    assert deadline.title.startswith("Обжалование в CNDA — 1 месяц с уведомления 3 марта 2027")
    assert "CESEDA art. L532-1" in deadline.title


def test_a_grant_brings_no_appeal_deadline(rules, case, caseworker):
    decision = _decision(case, caseworker, outcome=Outcome.GRANTED)
    assert not decision.computed.exists()


def test_manifestly_unfounded_at_bamf_gives_one_week_otherwise_two(rules, org, caseworker):
    bamf = Authority.objects.get(code="bamf")
    case = make_case(organisation=org, assignees=[caseworker], authority_code="bamf")
    served = date(2027, 1, 20)
    refused = _decision(case, caseworker, on=served, authority=bamf)
    unfounded = _decision(case, caseworker, on=served, outcome=Outcome.MANIFESTLY_UNFOUNDED)
    assert refused.computed.get().date == date(2027, 2, 3)
    assert unfounded.computed.get().date == date(2027, 1, 27)


def test_arrival_in_the_us_brings_the_one_year_filing_deadline(rules, org, caseworker):
    case = make_case(organisation=org, assignees=[caseworker], authority_code="uscis")
    arrival = services.event_add(
        case=case,
        event=Event(kind=Event.Kind.ARRIVAL, title="Arrived at JFK", date=date(2026, 7, 5)),
        by=caseworker,
    )
    deadline = arrival.computed.get()
    assert (deadline.kind, deadline.date) == (Event.Kind.SUBMISSION, date(2027, 7, 6))


def test_an_immigration_judges_decision_brings_the_bia_appeal(rules, org, caseworker):
    case = make_case(organisation=org, assignees=[caseworker], authority_code="eoir-ny-broadway")
    decision = _decision(case, caseworker, on=date(2027, 1, 31))
    assert decision.computed.get().date == date(2027, 3, 2)


def test_an_organisations_own_rule_wins_over_the_shared_one_and_stays_its_own(
    rules, case, caseworker, other_org
):
    shared = rules["CNDA appeal"]
    own = DeadlineRule.objects.create(
        organisation=case.organisation, name="CNDA appeal (our count)", event_kind="decision",
        country="FR", authority_kind="asylum_office", period=20, unit="working_days",
        source="Internal", checked_on=date(2026, 12, 1),
    )  # fmt: skip
    DeadlineRule.objects.create(
        organisation=other_org, name="Theirs", event_kind="decision", country="FR",
        authority=case.authority, period=2, unit="days", source="x", checked_on=date(2026, 12, 1),
    )  # fmt: skip
    decision = _decision(case, caseworker)
    assert decision.computed.get().rule == own
    other_case = make_case(organisation=other_org)
    assert deadlines.rule_for(Event(case=other_case, kind="decision", outcome="refused")).pk != (
        shared.pk
    )


def test_changing_the_decision_moves_its_deadline(rules, case, caseworker):
    decision = _decision(case, caseworker)
    decision.date = date(2027, 6, 14)
    services.event_update(event=decision, changed_fields=["date"], by=caseworker)
    assert decision.computed.get().date == date(2027, 7, 15)
    decision.outcome = Outcome.GRANTED
    services.event_update(event=decision, changed_fields=["outcome"], by=caseworker)
    assert not decision.computed.exists()


def test_a_deadline_changed_by_hand_stays_as_the_user_set_it(rules, case, caseworker):
    decision = _decision(case, caseworker)
    deadline = decision.computed.get()
    deadline.date = date(2027, 3, 31)
    services.event_update(event=deadline, changed_fields=["date"], by=caseworker)

    decision.date = date(2027, 6, 14)
    services.event_update(event=decision, changed_fields=["date"], by=caseworker)
    assert list(decision.computed.values_list("date", flat=True)) == [date(2027, 3, 31)]

    services.event_delete(event=decision, by=caseworker)
    deadline.refresh_from_db()
    assert deadline.source is None and deadline.date == date(2027, 3, 31)


def test_deleting_the_decision_removes_its_computed_deadline(rules, case, caseworker):
    decision = _decision(case, caseworker)
    services.event_delete(event=decision, by=caseworker)
    assert not Event.objects.filter(case=case).exists()
    assert case.log_entries.filter(action=CaseLogEntry.Action.EVENT_DELETED).exists()


def test_recording_a_decision_on_the_case_page_shows_the_computed_deadline(
    client, rules, case, caseworker
):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:event_add", args=[case.reference]),
        {"kind": "decision", "title": "Refus OFPRA", "date": "2027-03-03", "outcome": "refused"},
        follow=True,
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Deadline computed: CNDA appeal — 1 month from notification on" in page
    assert "computed" in page
    deadline = Event.objects.get(case=case, kind=Event.Kind.APPEAL_DEADLINE)
    assert deadline.date == date(2027, 4, 5)


def test_a_decision_without_its_outcome_is_refused_and_nothing_is_saved(client, case, caseworker):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:event_add", args=[case.reference]),
        {"kind": "decision", "title": "Refus OFPRA", "date": "2027-03-03"},
        headers={"accept-language": "ru"},
    )
    assert response.status_code == 200
    assert "Укажите, каким было решение" in response.content.decode()
    assert not Event.objects.filter(case=case).exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),
        ("coordinator", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),
        ("lawyer_expired", 404),
        ("auditor", 404),
    ],
)
def test_who_may_edit_and_delete_an_event(client, rules, case, personas, persona, status):
    decision = _decision(case, personas["caseworker"])
    client.force_login(personas[persona])
    edit = reverse("casework:event_edit", args=[case.reference, decision.pk])
    assert client.get(edit).status_code == (200 if status == 302 else status)
    response = client.post(
        edit,
        {"kind": "decision", "title": "Refus", "date": "2027-06-14", "outcome": "refused"},
    )
    assert response.status_code == status
    decision.refresh_from_db()
    assert (decision.date == date(2027, 6, 14)) is (status == 302)
    delete = reverse("casework:event_delete", args=[case.reference, decision.pk])
    assert client.post(delete).status_code == status
    assert Event.objects.filter(pk=decision.pk).exists() is (status != 302)


def test_an_event_of_another_case_is_not_found_through_this_one(
    client, case, other_case, caseworker, colleague
):
    foreign = services.event_add(
        case=other_case,
        event=Event(kind="interview", title="Interview", date=date(2027, 3, 3)),
        by=colleague,
    )
    client.force_login(caseworker)
    url = reverse("casework:event_delete", args=[case.reference, foreign.pk])
    assert client.post(url).status_code == 404
    assert Event.objects.filter(pk=foreign.pk).exists()


def test_a_shared_rule_is_the_same_for_every_organisation(rules, org):
    other = make_organisation(name="Third NGO", letters=False)
    assert set(DeadlineRule.objects.for_organisation(org.pk)) == set(
        DeadlineRule.objects.for_organisation(other.pk)
    )


def test_the_dashboard_marks_each_deadline_by_how_near_it_is(client, case, caseworker):
    for days in (-1, 0, 1, 3, 6, 12):
        make_event(case=case, days=days)
    client.force_login(caseworker)
    page = client.get(reverse("casework:dashboard"), headers={"accept-language": "en"})
    text = page.content.decode()
    # Colour and words together: the class carries the colour, the badge says it.
    for urgency, words in [
        ("overdue", "overdue"),
        ("today", "due today"),
        ("1", "tomorrow"),
        ("3", "in 3 days"),
        ("7", "in 6 days"),
        ("14", "in 12 days"),
    ]:
        assert f"deadline-{urgency}" in text, urgency
        assert words in text, words
