"""What a letter says and who stands behind it: the checks before issuing, the signer chosen at
approval, the organisation's identity per language, the template that fits the addressee, the
correction of an issued letter, and the admin of identities and signers per organisation."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from casework import services as casework_services
from casework.models import Authority, CaseReference, Ground, Membership
from letters import services
from letters.checks import letter_problems
from letters.defaults import TEMPLATES_DIR, parse_template_file
from letters.forms import LetterNewForm, fitting_template
from letters.models import Batch, Letter, LetterTemplate, OrganisationIdentity, Register, Signer
from tests.factories import RUSSIAN_ORG_NAME, make_user
from tests.helpers import approve, draft


@pytest.fixture
def submitted(draft_letter, caseworker):
    services.letter_submit(letter=draft_letter, by=caseworker)
    return draft_letter


def issue_refused(letter, coordinator) -> str:
    with pytest.raises(ValidationError) as excinfo:
        services.letter_issue(letter=letter, by=coordinator)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.APPROVED and not letter.number
    assert not Register.objects.filter(last_number__gt=0).exists()  # no number was taken
    return " ".join(excinfo.value.messages)


# --- checks before issuing ----------------------------------------------------------------------


def test_a_complete_letter_has_no_problems(approved_letter):
    assert letter_problems(approved_letter) == []


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("facts", "Il a été arrêté à Москва en 2024.", "Cyrillic text"),
        ("body", "Madame, Monsieur,\n\nTexte {{ client.name }}.", "left to fill in"),
        ("body", "Madame, Monsieur,\n\nNé le XXX à ___.", "left to fill in"),
        ("subject", "Objet : TODO", "left to fill in"),
        ("facts", "", "facts are empty"),
    ],
)
def test_each_check_blocks_issuing_and_names_the_place(
    approved_letter, coordinator, field, text, expected
):
    setattr(approved_letter, field, text)
    approved_letter.save(update_fields=[field])
    problems = letter_problems(approved_letter)
    assert any(expected in p for p in problems), problems
    if field == "facts" and text:
        assert "facts, paragraph 1" in " ".join(problems)
        assert "Москва" in " ".join(problems)  # quoted, so that it is found at once
    assert expected in issue_refused(approved_letter, coordinator)


def test_a_russian_letter_may_be_in_cyrillic(case, caseworker, coordinator, ofpra):
    template = LetterTemplate.objects.create(
        name="Письмо", kind="support", language="ru", body="Письмо для {{ client.full_name }}."
    )
    letter = approve(
        draft(case, template, ofpra, caseworker), author=caseworker, approver=coordinator
    )
    assert letter_problems(letter) == []


def test_a_reference_the_template_requires_is_checked(approved_letter, coordinator, caseworker):
    template = approved_letter.template_version.template
    template.requires = ["ofpra"]
    template.save(update_fields=["requires"])
    assert "OFPRA number" in issue_refused(approved_letter, coordinator)
    casework_services.reference_save(
        case=approved_letter.case,
        reference=CaseReference(kind="ofpra", value="2101234567"),
        by=caseworker,
    )
    assert letter_problems(approved_letter) == []


def test_no_identity_in_the_letters_language_blocks_issuing(approved_letter, coordinator, org):
    OrganisationIdentity.objects.filter(organisation=org, language="fr").delete()
    assert "no name and address in French" in issue_refused(approved_letter, coordinator)


def test_the_letter_page_lists_the_problems(client, draft_letter, caseworker):
    draft_letter.facts = ""
    draft_letter.save(update_fields=["facts"])
    client.force_login(caseworker)
    page = client.get(reverse("letters:letter_detail", args=[draft_letter.pk])).text
    assert "Before it can be issued" in page and "The facts are empty" in page


def test_a_batch_refuses_the_cases_whose_letter_fails_the_checks(
    case, other_case, template_fr, ofpra, coordinator, settings, django_capture_on_commit_callbacks
):
    settings.LETTERS_BATCH_TWO_PERSON_RULE = False
    other_case.statements.all().delete()  # no facts in French for this one
    batch = Batch.objects.create(
        organisation=case.organisation,
        template=template_fr,
        authority=ofpra,
        language="fr",
        case_ids=[case.pk, other_case.pk],
        created_by=coordinator,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_prepare(batch=batch)
    batch.refresh_from_db()
    assert list(batch.refused) == [other_case.reference]
    assert "facts are empty" in " ".join(batch.refused[other_case.reference])
    assert [letter.case for letter in batch.letters.all()] == [case]
    assert batch.case_ids == [case.pk]
    assert not other_case.letters.exists()


def test_a_batch_refuses_the_cases_whose_letter_is_too_long_and_issues_the_others(
    case, other_case, template_fr, ofpra, coordinator, settings, django_capture_on_commit_callbacks
):
    """How long a letter is depends on the case (a paragraph per pair of grounds): the case
    that takes it past the cap is refused with the sandbox's message, the batch goes on."""
    settings.LETTERS_BATCH_TWO_PERSON_RULE = False
    for code in Ground.Code.values:
        Ground.objects.get_or_create(code=code)
    case.grounds.set(Ground.objects.all())
    other_case.grounds.set(Ground.objects.all()[:1])
    template_fr.body += (
        "\n\n{% for a in case.grounds %}{% for b in case.grounds %}"
        + "Motif. " * 500
        + "{% endfor %}{% endfor %}"
    )
    template_fr.save()
    batch = Batch.objects.create(
        organisation=case.organisation,
        template=template_fr,
        authority=ofpra,
        language="fr",
        case_ids=[case.pk, other_case.pk],
        created_by=coordinator,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_prepare(batch=batch)
    batch.refresh_from_db()
    assert list(batch.refused) == [case.reference]
    assert "too long" in " ".join(batch.refused[case.reference])
    assert [letter.case for letter in batch.letters.all()] == [other_case]
    assert not case.letters.exists()


# --- the signer ----------------------------------------------------------------------------------


def test_the_default_signer_signs_in_the_letters_language(approved_letter):
    assert (approved_letter.signer_name, approved_letter.signer_title) == (
        "Maria Example",
        "présidente",
    )


def test_the_approver_chooses_another_signer(submitted, coordinator, org):
    deputy = Signer.objects.create(
        organisation=org,
        name_latin="Ivan Deputy",
        name_cyrillic="Иван Заместитель",
        title_fr="vice-président",
    )
    services.letter_approve(
        letter=submitted, by=coordinator, text_hash=submitted.text_hash, signer=deputy
    )
    submitted.refresh_from_db()
    assert (submitted.signer, submitted.signer_name, submitted.signer_title) == (
        deputy,
        "Ivan Deputy",
        "vice-président",
    )


def test_a_russian_letter_is_signed_in_cyrillic(case, caseworker, coordinator, ofpra):
    template = LetterTemplate.objects.create(
        name="Письмо", kind="support", language="ru", body="Письмо для {{ client.full_name }}."
    )
    letter = approve(
        draft(case, template, ofpra, caseworker), author=caseworker, approver=coordinator
    )
    assert (letter.signer_name, letter.signer_title) == ("Мария Пример", "председатель")


@pytest.mark.parametrize("setup", ["no_signer", "no_title"])
def test_nobody_to_sign_in_the_language_refuses_the_approval(submitted, coordinator, org, setup):
    if setup == "no_signer":
        Signer.objects.filter(organisation=org).delete()
    else:
        Signer.objects.filter(organisation=org).update(title_fr="")
    with pytest.raises(ValidationError, match="sign letters in French"):
        services.letter_approve(letter=submitted, by=coordinator, text_hash=submitted.text_hash)
    submitted.refresh_from_db()
    assert submitted.status == Letter.Status.IN_REVIEW and submitted.signer is None


def test_a_signer_of_another_organisation_cannot_be_chosen(
    client, submitted, coordinator, other_org
):
    foreign = Signer.objects.filter(organisation=other_org).get()
    client.force_login(coordinator)
    client.post(
        reverse("letters:letter_approve", args=[submitted.pk]),
        {"text_hash": submitted.text_hash, "signer": foreign.pk},
    )
    submitted.refresh_from_db()
    assert submitted.status == Letter.Status.IN_REVIEW and submitted.signer is None


def test_the_drafter_is_never_the_signer(draft_letter, caseworker):
    assert draft_letter.signer is None and draft_letter.signer_name == ""
    assert "⟦signer" not in draft_letter.subject


# --- the template that fits the addressee --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ofpra", "ofpra.fr"),
        ("cnda", "cnda.fr"),
        ("bamf", "bamf.de"),
        ("vg-berlin", "vg.de"),
        ("uscis", "uscis.en"),
        ("eoir-ny-broadway", "eoir.en"),
        ("uk-home-office", "home-office.en"),
        ("unhcr-georgia", "unhcr.en"),
        ("unhcr-central-asia", "unhcr.ru"),
    ],
)
def test_the_support_letter_for_each_addressee_is_preselected(db, code, expected):
    name = parse_template_file(TEMPLATES_DIR / f"{expected}.txt")["name"]
    assert fitting_template(Authority.objects.get(code=code)).name == name


def test_a_template_for_another_addressee_needs_an_explicit_choice(case, ofpra):
    uscis_letter = LetterTemplate.objects.get(
        language="en", authority_kinds=["asylum_office"], countries=["US"]
    )
    data = {"template": uscis_letter.pk, "authority": ofpra.pk}
    form = LetterNewForm(data, case=case)
    assert not form.is_valid() and "is not written for OFPRA" in str(form.errors)
    assert LetterNewForm({**data, "mismatch": "on"}, case=case).is_valid()


# --- correcting an issued letter --------------------------------------------------------------


def test_a_correction_replaces_the_letter_once_issued(
    client, issued_stub_letter, caseworker, coordinator, django_capture_on_commit_callbacks
):
    client.force_login(caseworker)
    response = client.post(reverse("letters:letter_correct", args=[issued_stub_letter.pk]))
    correction = Letter.objects.exclude(pk=issued_stub_letter.pk).get()
    assert response.url == reverse("letters:letter_detail", args=[correction.pk])
    assert correction.replaces == issued_stub_letter
    assert (correction.body, correction.facts) == (
        issued_stub_letter.body,
        issued_stub_letter.facts,
    )
    approve(correction, author=caseworker, approver=coordinator)
    with django_capture_on_commit_callbacks(execute=False):
        services.letter_issue(letter=correction, by=coordinator)
    issued_stub_letter.refresh_from_db()
    assert issued_stub_letter.status == Letter.Status.REVOKED


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("colleague", 404),
        ("volunteer", 404),
        ("outsider", 404),
        ("lawyer", 403),
    ],
)
def test_who_may_correct_a_letter(client, issued_stub_letter, personas, persona, status):
    client.force_login(personas[persona])
    response = client.post(reverse("letters:letter_correct", args=[issued_stub_letter.pk]))
    assert response.status_code == status
    assert Letter.objects.count() == (2 if status == 302 else 1)


# --- identities and signers in the admin, per organisation -----------------------------------


@pytest.fixture
def org_admin(org):
    return make_user(
        organisation=org, role=Membership.Role.ADMINISTRATOR, username="orgadmin", is_staff=True
    )


def test_an_administrator_sees_and_changes_only_their_organisations_identities(
    client, org_admin, org, other_org
):
    from django.contrib.auth.models import Permission

    org_admin.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_organisationidentity",
                "change_organisationidentity",
                "view_signer",
                "change_signer",
            ]
        )
    )
    client.force_login(org_admin)
    ours = OrganisationIdentity.objects.get(organisation=org, language="fr")
    theirs = OrganisationIdentity.objects.get(organisation=other_org, language="fr")
    listing = client.get(reverse("admin:letters_organisationidentity_changelist")).text
    assert str(ours.pk) in listing or ours.name in listing
    url = reverse("admin:letters_organisationidentity_change", args=[theirs.pk])
    assert client.get(url).status_code in (302, 404)
    foreign_signer = Signer.objects.get(organisation=other_org)
    url = reverse("admin:letters_signer_change", args=[foreign_signer.pk])
    assert client.get(url).status_code in (302, 404)


@pytest.mark.parametrize("language", ["fr", "de", "en", "ru"])
def test_the_verification_page_names_the_issuer_in_its_language(
    client, issued_stub_letter, language
):
    url = reverse("verify", kwargs={"token": issued_stub_letter.verification_token})
    page = client.get(url, {"lang": language}).text
    name = RUSSIAN_ORG_NAME if language == "ru" else "Test Refugee Committee"
    assert f'<dd class="col-sm-8">{name}</dd>' in page


# --- templates and addressees per organisation ------------------------------------------------


@pytest.fixture
def their_template(other_org):
    return LetterTemplate.objects.create(
        organisation=other_org, name="Theirs", kind="support", language="fr", body="Texte."
    )


@pytest.fixture
def their_authority(other_org):
    return Authority.objects.create(
        organisation=other_org,
        code="their-office",
        short_name="Their office",
        name="Their office",
        kind=Authority.Kind.OTHER,
        country="FR",
        address="1 rue X",
        language="fr",
    )


def test_another_organisations_template_and_addressee_cannot_be_chosen(
    case, their_template, their_authority, ofpra
):
    form = LetterNewForm(case=case)
    assert their_template not in form.fields["template"].queryset
    assert their_authority not in form.fields["authority"].queryset
    bound = LetterNewForm(
        {"template": their_template.pk, "authority": ofpra.pk, "mismatch": "on"}, case=case
    )
    assert not bound.is_valid() and "template" in bound.errors


def _admin_with_perms(organisation, username, *codenames):
    from django.contrib.auth.models import Permission

    user = make_user(
        organisation=organisation,
        role=Membership.Role.ADMINISTRATOR,
        username=username,
        is_staff=True,
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


PERMS = ("view_lettertemplate", "change_lettertemplate", "view_authority", "change_authority")


def test_an_administrator_cannot_reach_another_organisations_templates_or_addressees(
    client, org, their_template, their_authority
):
    client.force_login(_admin_with_perms(org, "ouradmin", *PERMS))
    for url in (
        reverse("admin:letters_lettertemplate_change", args=[their_template.pk]),
        reverse("admin:casework_authority_change", args=[their_authority.pk]),
    ):
        assert client.get(url).status_code in (302, 404)  # "does not exist" redirect or 404
        assert client.post(url, {"name": "Changed"}).status_code in (302, 403, 404)
    their_template.refresh_from_db()
    assert their_template.name == "Theirs"


def test_a_shared_default_is_read_only_for_an_organisations_administrator(client, org):
    shared = LetterTemplate.objects.filter(organisation=None).first()
    client.force_login(_admin_with_perms(org, "ouradmin", *PERMS))
    url = reverse("admin:letters_lettertemplate_change", args=[shared.pk])
    assert client.get(url).status_code == 200  # seen, to copy it
    assert client.post(url, {"name": "Changed"}).status_code == 403
    changelist = reverse("admin:letters_lettertemplate_changelist")
    client.post(changelist, {"action": "copy_to_organisation", "_selected_action": [shared.pk]})
    copy = LetterTemplate.objects.get(organisation=org)
    assert (copy.name, copy.body) == (shared.name, shared.body)
    assert copy.current_version.number == 1
