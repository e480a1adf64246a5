"""`manage.py seed_demo`: one demo organisation, one login per role and ~40 fictional cases,
created once however often the command runs."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from casework.models import (
    Authority,
    Case,
    CaseLogEntry,
    Client,
    ClientName,
    Consent,
    Document,
    Ground,
    Membership,
    Organisation,
    Share,
)
from casework.names import tokens
from tests.helpers import seed

# Demo documents go to a temporary folder, not to var/private.
pytestmark = pytest.mark.usefixtures("private_media")
User = get_user_model()
Role = Membership.Role

ROLES = {
    "admin": Role.ADMINISTRATOR,
    "coordinator": Role.COORDINATOR,
    "caseworker": Role.CASEWORKER,
    "caseworker2": Role.CASEWORKER,
    "volunteer": Role.VOLUNTEER,
    "lawyer": Role.LAWYER,
    "auditor": Role.AUDITOR,
}
SPECIAL = {"caseworker", "lawyer"}


def snapshot():
    return {
        "users": sorted(
            User.objects.values_list(
                "username", "membership__role", "membership__special_category_access",
                "is_staff", "is_superuser", "membership__organisation_id",
            )
        ),
        "orgs": Organisation.objects.count(),
        "cases": Case.objects.count(),
        "clients": Client.objects.count(),
        "names": ClientName.objects.count(),
        "history": CaseLogEntry.objects.count(),
        "documents": Document.objects.count(),
        "shares": Share.objects.count(),
    }  # fmt: skip


@pytest.mark.django_db
def test_running_twice_creates_users_and_cases_once():
    first_output = seed()
    first = snapshot()
    second_output = seed()

    assert snapshot() == first
    assert first["orgs"] == 1
    assert 35 <= first["cases"] <= 45
    assert first["clients"] == first["cases"]
    org = Organisation.objects.get()
    assert org.email.endswith("example.org")
    users = {u.username: u for u in User.objects.select_related("membership")}
    assert set(users) == set(ROLES)
    for username, role in ROLES.items():
        membership = users[username].membership
        assert membership.organisation == org
        assert membership.role == role
        assert membership.special_category_access == (username in SPECIAL)
        assert users[username].email.endswith("@example.org")
        assert users[username].first_name and users[username].last_name
    assert users["admin"].is_staff and users["admin"].is_superuser
    assert not any(u.is_superuser for name, u in users.items() if name != "admin")

    # The first run printed one generated password, which works for every user; the second
    # run kept it.
    assert "http://127.0.0.1:8000/" in first_output
    generated = next(
        line.rsplit(" ", 1)[-1]
        for line in first_output.splitlines()
        if "generated password" in line
    )
    assert len(generated) >= 16
    for username in ROLES:
        assert authenticate(None, username=username, password=generated) is not None
    assert "kept their passwords" in second_output
    assert "none were created" in second_output
    assert generated not in second_output


@pytest.mark.django_db
def test_password_option_sets_the_password_of_new_and_existing_users():
    seed("--password", "first-demo-pass-2026")
    for username in ROLES:
        assert authenticate(None, username=username, password="first-demo-pass-2026")

    output = seed("--password", "demo-pass-2026")

    assert "demo-pass-2026" in output
    for username in ROLES:
        assert authenticate(None, username=username, password="demo-pass-2026") is not None
        assert authenticate(None, username=username, password="first-demo-pass-2026") is None
    assert User.objects.count() == len(ROLES)


@pytest.mark.django_db
def test_demo_cases_cover_the_domain():
    seed("--password", "demo-pass-2026")
    cases = list(
        Case.objects.select_related("client", "authority").prefetch_related(
            "assignments__user__membership", "grounds", "client__names", "log_entries"
        )
    )
    users = {u.username: u for u in User.objects.all()}

    for case in cases:
        roles = {a.user.membership.role for a in case.assignments.all()}
        assert Role.CASEWORKER in roles, case
        names = list(case.client.names.all())
        assert names[0].kind == ClientName.Kind.LEGAL and names[0].script == "cyrl"
        assert {"cyrl", "latn"} <= {n.script for n in names}
        assert any(n.kind == ClientName.Kind.TRANSLITERATION for n in names)
        assert case.client.name_index.strip()
        # The pseudonym never contains a part of the name.
        pseudonym = set(tokens(case.client.pseudonym.lower()))
        assert not pseudonym & {t.lower() for n in names for t in tokens(n.full_name)}
        assert case.grounds.exists()
        assert {e.action for e in case.log_entries.all()} >= {
            CaseLogEntry.Action.CREATED,
            CaseLogEntry.Action.ASSIGNED,
            CaseLogEntry.Action.CONSENT,
            CaseLogEntry.Action.NOTE,
            CaseLogEntry.Action.EVENT,
        }
        assert case.events.exists() and case.notes.exists()
        assert {c.purpose for c in case.consents.all()} >= {"casework", "letters"}
        if case.authority:
            assert case.destination_country == case.authority.country

    # Every kind, status, risk, ground and authority occurs.
    assert {c.kind for c in cases} == set(Case.Kind.values)
    assert {c.status for c in cases} == set(Case.Status.values)
    assert {c.risk for c in cases} == set(Case.Risk.values)
    assert {g.code for c in cases for g in c.grounds.all()} == set(Ground.objects.values_list(
        "code", flat=True))  # fmt: skip
    assert {c.authority.code for c in cases if c.authority} == set(
        Authority.objects.values_list("code", flat=True)
    )
    # Statuses were reached along Case.TRANSITIONS, and the history says so.
    for case in cases:
        steps = [
            e.detail.split(" → ")
            for e in sorted(case.log_entries.all(), key=lambda e: e.id)
            if e.action == CaseLogEntry.Action.STATUS
        ]
        current = Case.Status.INTAKE
        for old, new in steps:
            assert old == current and new in Case.TRANSITIONS[old]
            current = new
        assert current == case.status
    # Both caseworkers carry cases, the volunteer a few; the lawyer sees the four shares that
    # have not expired; the auditor sees no case.
    visible = {name: Case.objects.visible_to(user).count() for name, user in users.items()}
    assert visible["caseworker"] >= 15 and visible["caseworker2"] >= 15
    assert 3 <= visible["volunteer"] <= 8
    assert visible["coordinator"] == visible["admin"] == len(cases)
    assert visible["lawyer"] == 4 and visible["auditor"] == 0
    assert Share.objects.filter(lawyer=users["lawyer"]).count() == 5
    # Some deadlines are overdue, some events come in the next two weeks, some consents were
    # withdrawn, and a few documents are real PDFs.
    assert Consent.objects.exclude(withdrawn_on=None).exists()
    documents = list(Document.objects.all())
    assert 1 <= len(documents) <= 5
    for document in documents:
        with document.file.open("rb") as f:
            assert f.read(5) == b"%PDF-"
    assert any(c.criminal_case for c in Client.objects.all())
    assert any(c.orientation for c in Client.objects.all())


@pytest.mark.django_db
def test_demo_dashboard_shows_deadlines_the_rules_computed_and_checklists():
    """Recent refusals give appeal deadlines computed by the shipped rules in the next two weeks;
    several cases go through a procedure with its checklist partly filled."""
    from datetime import timedelta

    from django.utils import timezone

    from casework import selectors
    from casework.models import CaseProcedure, ChecklistEntry, Event

    seed("--password", "demo-pass-2026")
    today = timezone.localdate()
    computed = Event.objects.filter(source__isnull=False, done=False)
    soon = computed.filter(date__gte=today, date__lte=today + timedelta(days=14))
    assert soon.count() >= 2
    assert {e.rule.name for e in soon} & {"CNDA appeal", "Action at the Verwaltungsgericht"}
    assert Event.objects.filter(kind="decision").exclude(outcome="").exists()
    assert not computed.filter(date__lt=today).exists()  # no stale computed deadline overdue
    coordinator = User.objects.get(username="coordinator")
    upcoming = selectors.dashboard(coordinator)["upcoming"]
    assert any(event.rule_id for event in upcoming)
    procedures = CaseProcedure.objects.all()
    assert procedures.count() >= 4
    states = set(ChecklistEntry.objects.values_list("state", flat=True))
    assert {"have", "missing"} <= states


@pytest.mark.django_db
def test_the_demo_is_the_same_every_time():
    with transaction.atomic():
        seed("--password", "demo-pass-2026")
        first = demo_names()
        transaction.set_rollback(True)
    assert not Case.objects.exists()

    seed("--password", "demo-pass-2026")

    assert demo_names() == first


def demo_names():
    return sorted(
        (n.client.pseudonym, n.family_name) for n in ClientName.objects.select_related("client")
    )


@pytest.mark.django_db
def test_refuses_to_take_over_a_user_of_another_organisation():
    other = Organisation.objects.create(name="Another NGO")
    user = User.objects.create_user(username="coordinator", password="x" * 20)
    Membership.objects.create(user=user, organisation=other, role=Role.COORDINATOR)

    with pytest.raises(CommandError, match="another organisation"):
        seed()

    assert not Case.objects.exists()
    assert User.objects.count() == 1
    user.membership.refresh_from_db()
    assert user.membership.organisation == other


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_without_debug_unless_told():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    assert not get_user_model().objects.filter(username="admin").exists()
