"""Consent per purpose, recorded on the case page: no consent to letters, no letter (drafted
one by one or in a batch)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from casework import services
from casework.models import Case, CaseLogEntry, Consent
from letters import services as letter_services
from letters.models import Batch, Letter, LetterTemplate
from tests.factories import make_case

LETTERS = Consent.Purpose.LETTERS
NO_CONSENT = "the client has not consented to letters"


@pytest.fixture
def template(db):
    return LetterTemplate.objects.create(
        name="Support (test)", kind="support", language="fr", body="Dossier {{ case.reference }}."
    )


@pytest.fixture
def no_consent_case(org, caseworker):
    return make_case(organisation=org, assignees=[caseworker], consents=())


def consent_url(case) -> str:
    return reverse("casework:case_consent", args=[case.reference])


def active(case, purpose=LETTERS) -> bool:
    return services.consent_is_active(case=case, purpose=purpose)


# Services ------------------------------------------------------------------------------------


def test_record_and_withdraw(no_consent_case, caseworker):
    case = no_consent_case
    consent = services.consent_record(case=case, purpose=LETTERS, by=caseworker)
    assert active(case) and consent.recorded_by == caseworker and consent.withdrawn_on is None
    # Recording again keeps the one consent.
    assert services.consent_record(case=case, purpose=LETTERS, by=caseworker) == consent
    assert case.consents.count() == 1

    services.consent_withdraw(consent=consent, by=caseworker)
    consent.refresh_from_db()
    assert consent.withdrawn_on is not None and not active(case)
    # Given again later: a new record, the withdrawn one stays as history.
    services.consent_record(case=case, purpose=LETTERS, by=caseworker)
    assert active(case) and case.consents.count() == 2
    assert case.log_entries.filter(action=CaseLogEntry.Action.CONSENT).count() == 3


def test_unknown_purpose_is_refused(no_consent_case, caseworker):
    with pytest.raises(ValidationError):
        services.consent_record(case=no_consent_case, purpose="marketing", by=caseworker)


# The case page -------------------------------------------------------------------------------


def test_caseworker_records_and_withdraws_consent_on_the_case_page(
    client, no_consent_case, caseworker
):
    case = no_consent_case
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).text
    assert consent_url(case) in page and "Record consent" in page

    response = client.post(consent_url(case), {"purpose": LETTERS, "action": "record"}, follow=True)
    assert "Consent recorded: Writing letters to authorities." in response.text
    assert active(case)

    response = client.post(
        consent_url(case), {"purpose": LETTERS, "action": "withdraw"}, follow=True
    )
    assert "Consent withdrawn: Writing letters to authorities." in response.text
    assert not active(case)
    response = client.post(
        consent_url(case), {"purpose": LETTERS, "action": "withdraw"}, follow=True
    )
    assert "There is no consent to withdraw for this purpose." in response.text


def test_a_bad_purpose_changes_nothing(client, no_consent_case, caseworker):
    client.force_login(caseworker)
    for data in ({"purpose": "spam", "action": "record"}, {"purpose": LETTERS, "action": "x"}):
        assert client.post(consent_url(no_consent_case), data).status_code == 302
    assert not no_consent_case.consents.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),
        ("coordinator", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),
        ("auditor", 404),
    ],
)
def test_who_may_record_consent(client, case, personas, persona, status):
    Consent.objects.filter(case=case).delete()
    client.force_login(personas[persona])
    response = client.post(consent_url(case), {"purpose": LETTERS, "action": "record"})
    assert response.status_code == status
    assert active(case) is (status == 302)


def test_consent_needs_a_post(client, case, caseworker):
    client.force_login(caseworker)
    assert client.get(consent_url(case)).status_code == 405


def test_read_only_users_see_no_consent_form(client, case, lawyer):
    client.force_login(lawyer)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).text
    assert consent_url(case) not in page


# No consent, no letter -----------------------------------------------------------------------


def test_drafting_without_consent_is_refused(no_consent_case, caseworker, template):
    with pytest.raises(ValidationError) as error:
        letter_services.letter_draft(
            case=no_consent_case, template=template, authority=no_consent_case.authority,
            by=caseworker,
        )  # fmt: skip
    assert error.value.code == "no_consent"
    assert not Letter.objects.exists()


def test_the_letters_page_says_why(client, no_consent_case, caseworker, template):
    client.force_login(caseworker)
    response = client.post(
        reverse("letters:letter_new", args=[no_consent_case.reference]),
        {"template": template.pk, "authority": no_consent_case.authority_id},
    )
    assert response.status_code == 200
    assert NO_CONSENT in response.text
    assert not Letter.objects.exists()


def test_withdrawn_consent_stops_new_letters(client, case, caseworker, template):
    url = reverse("letters:letter_new", args=[case.reference])
    data = {"template": template.pk, "authority": case.authority_id}
    client.force_login(caseworker)
    assert client.post(url, data).status_code == 302
    assert Letter.objects.count() == 1

    consent = case.consents.get(purpose=LETTERS)
    client.post(consent_url(case), {"purpose": LETTERS, "action": "withdraw"})
    consent.refresh_from_db()
    assert consent.withdrawn_on is not None
    response = client.post(url, data)
    assert response.status_code == 200 and NO_CONSENT in response.text
    assert Letter.objects.count() == 1


def test_batch_skips_cases_without_consent(client, org, case, coordinator, template, monkeypatch):
    from letters.tasks import render_letters

    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)
    never = make_case(organisation=org, consents=())
    withdrawn = make_case(organisation=org)
    services.consent_withdraw(consent=withdrawn.consents.get(purpose=LETTERS), by=coordinator)
    batch = Batch.objects.create(
        organisation=org,
        template=template,
        authority=case.authority,
        language="fr",
        case_ids=[case.pk, never.pk, withdrawn.pk],
        created_by=coordinator,
    )
    letter_services.batch_prepare(batch=batch)
    batch.refresh_from_db()
    assert list(batch.letters.values_list("case_id", flat=True)) == [case.pk]
    assert batch.case_ids == [case.pk]
    assert sorted(batch.skipped_case_ids) == sorted([never.pk, withdrawn.pk])

    client.force_login(coordinator)
    page = client.get(reverse("letters:batch_detail", args=[batch.pk])).text
    assert "2 cases skipped: no consent for letters." in page


def test_batch_of_cases_without_consent_finishes_empty(org, coordinator, template):
    never = make_case(organisation=org, consents=(), status=Case.Status.ACTIVE)
    batch = Batch.objects.create(
        organisation=org,
        template=template,
        authority=never.authority,
        language="fr",
        case_ids=[never.pk],
        created_by=coordinator,
    )
    letter_services.batch_prepare(batch=batch)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FINISHED
    assert batch.skipped_case_ids == [never.pk] and not batch.letters.exists()
