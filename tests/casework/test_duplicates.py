"""Duplicates at intake: a new client whose name (blind index, any spelling) and date of birth
match an existing client warns the user — with the match to those who may see it, and to
others only that a coordinator has been told, who is (dashboard and email). The user can
still open the case."""

from datetime import date
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from casework.models import AccessEvent, Authority, Case, DuplicateAlert
from tests.factories import make_case

BIRTH_DATE = date(1990, 5, 17)
GENERIC = "A possible duplicate exists; a coordinator has been told."


@pytest.fixture
def known(case):
    """The `case` fixture's client (Зуганшин Рустам, assigned to `caseworker`), with a date
    of birth."""
    case.client.birth_date = BIRTH_DATE
    case.client.save()
    return case


def intake(**changes: Any) -> dict[str, Any]:
    """The intake form for Rustam Zuganshin again, spelt the French way."""
    data: dict[str, Any] = {
        "client-pseudonym": "Heron",
        "client-birth_date": BIRTH_DATE.isoformat(),
        "names-TOTAL_FORMS": "1",
        "names-INITIAL_FORMS": "0",
        "names-MIN_NUM_FORMS": "1",
        "names-MAX_NUM_FORMS": "8",
        "names-0-kind": "legal",
        "names-0-script": "latn",
        "names-0-family_name": "Zouganchine",
        "names-0-given_names": "Roustam",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "10",
        "case-kind": "asylum_claim",
        "case-authority": str(Authority.objects.get(code="ofpra").pk),
        "case-risk": "medium",
        "case-opened_at": timezone.localdate().isoformat(),
    }
    data.update(changes)
    return data


def post_intake(client, **changes):
    return client.post(reverse("casework:case_create"), intake(**changes))


def seen_key(response) -> str:
    return response.context["duplicate_seen"]


def test_user_who_may_see_the_match_is_shown_it(client, known, caseworker):
    client.force_login(caseworker)
    cases_before = Case.objects.count()
    response = post_intake(client)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Possible duplicate" in page
    assert reverse("casework:case_detail", args=[known.reference]) in page
    assert known.client.pseudonym in page
    assert GENERIC not in page
    assert Case.objects.count() == cases_before
    assert not DuplicateAlert.objects.exists()
    # The check compared names: logged as a search.
    assert AccessEvent.objects.filter(user=caseworker, action="search", object_type="client")

    # Still a different person? They can open the case anyway.
    response = post_intake(client, duplicate_seen=seen_key(response))
    assert response.status_code == 302
    assert Case.objects.count() == cases_before + 1


def test_user_who_may_not_see_the_match_learns_nothing_but_a_coordinator_is_told(
    client, known, colleague, coordinator, outsider, django_capture_on_commit_callbacks
):
    client.force_login(colleague)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_intake(client)
    page = response.content.decode()
    assert response.status_code == 200
    assert GENERIC in page
    assert known.reference not in page
    assert known.client.pseudonym not in page
    assert "Zuganshin" not in page and "Зуганшин" not in page

    alert = DuplicateAlert.objects.get()
    assert (alert.existing_client, alert.raised_by, alert.new_case) == (
        known.client,
        colleague,
        None,
    )
    # The coordinators are emailed, by case reference only; nobody of another organisation.
    [email] = mail.outbox
    assert email.to == [coordinator.email]
    assert known.reference in email.body
    assert "Zuganshin" not in email.body and known.client.pseudonym not in email.body

    # Showing the form again raises no second alert; opening the case links it.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_intake(client)
        response = post_intake(client, duplicate_seen=seen_key(response))
    assert response.status_code == 302
    new_case = Case.objects.latest("pk")
    alert = DuplicateAlert.objects.get()
    assert alert.new_case == new_case
    assert len(mail.outbox) == 1

    # The coordinator sees both cases on the dashboard and marks it checked.
    client.force_login(coordinator)
    dashboard = client.get(reverse("casework:dashboard")).content.decode()
    assert "Possible duplicates to check" in dashboard
    assert reverse("casework:case_detail", args=[known.reference]) in dashboard
    assert reverse("casework:case_detail", args=[new_case.reference]) in dashboard
    response = client.post(reverse("casework:duplicate_alert_resolve", args=[alert.pk]))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.resolved_by == coordinator
    assert "Possible duplicates to check" not in client.get("/").content.decode()


def test_matches_are_found_across_scripts_but_need_the_same_birth_date(client, known, caseworker):
    client.force_login(caseworker)
    response = post_intake(
        client,
        **{
            "names-0-script": "cyrl",
            "names-0-family_name": "Зуганшин",
            "names-0-given_names": "Рустам",
        },
    )
    assert response.status_code == 200 and response.context["duplicate"]
    response = post_intake(client, **{"client-birth_date": "1990-05-18"})
    assert response.status_code == 302


def test_a_forged_or_stale_confirmation_warns_again(client, known, caseworker, other_case):
    client.force_login(caseworker)
    assert post_intake(client, duplicate_seen="0" * 32).status_code == 200
    # Warned about one match, then the name changed to match another: warned again.
    other_case.client.birth_date = BIRTH_DATE
    other_case.client.save()
    key = seen_key(post_intake(client))
    response = post_intake(
        client,
        duplicate_seen=key,
        **{"names-0-family_name": "Kuznetsova", "names-0-given_names": "Alina"},
    )
    assert response.status_code == 200


def test_volunteer_not_assigned_gets_the_generic_warning(client, org, volunteer, coordinator):
    other = make_case(organisation=org, assignees=[coordinator])
    other.client.birth_date = BIRTH_DATE
    other.client.save()
    client.force_login(volunteer)
    page = post_intake(client).content.decode()
    assert GENERIC in page and other.reference not in page


def test_no_warning_without_a_match(client, known, caseworker):
    client.force_login(caseworker)
    response = post_intake(client, **{"names-0-family_name": "Petrova"})
    assert response.status_code == 302


@pytest.mark.parametrize("persona, status", [("caseworker", 403), ("outsider", 404)])
def test_only_the_organisations_coordinators_mark_alerts_checked(
    client, known, colleague, personas, persona, status
):
    client.force_login(colleague)
    post_intake(client)
    alert = DuplicateAlert.objects.get()
    client.force_login(personas[persona])
    response = client.post(reverse("casework:duplicate_alert_resolve", args=[alert.pk]))
    assert response.status_code == status
    alert.refresh_from_db()
    assert alert.resolved_at is None


def test_caseworkers_dashboard_shows_no_alerts(client, known, colleague):
    client.force_login(colleague)
    post_intake(client)
    assert "Possible duplicates to check" not in client.get("/").content.decode()
