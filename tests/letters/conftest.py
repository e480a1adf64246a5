"""Letters fixtures: templates, addressees and one letter of `case` at every stage.

Our own templates are created here (the default templates shipped by a data migration are not
relied upon), and PDFs are stored in a temporary private folder, never under var/.
"""

from datetime import date

import pytest

from casework import services as services_casework
from casework.models import Case, CaseReference, ClientName, Ground
from letters import services
from letters.models import Letter, LetterTemplate
from tests.factories import make_case, make_share
from tests.helpers import TEMPLATE_BODY, draft, get_authority, store_stub_pdf


@pytest.fixture(autouse=True)
def _letters_in_private_media(private_media):
    """Letter PDFs go to the temporary private folder of tests/conftest.py."""
    return private_media


@pytest.fixture
def ofpra(db):
    return get_authority("ofpra")


@pytest.fixture
def bamf(db):
    return get_authority("bamf")


@pytest.fixture
def case(org, caseworker, volunteer, lawyer, lawyer_expired, ofpra):
    """The persona case of tests/conftest.py, addressed to OFPRA even after a flush."""
    case = make_case(organisation=org, assignees=[caseworker, volunteer], pseudonym="Falcon")
    case.authority = ofpra
    case.save(update_fields=["authority"])
    make_share(case=case, lawyer=lawyer, days=30)
    make_share(case=case, lawyer=lawyer_expired, days=-1)
    return case


@pytest.fixture
def active_cases(case, org, other_org):
    """`case` and three more active cases of the organisation; one intake case and one active
    case of another organisation that the batch must leave out."""
    extra = [
        make_case(organisation=org, family_name=name, given_names="Anna", cyrillic=None)
        for name in ("Petrova", "Ivanova", "Smirnova")
    ]
    make_case(organisation=org, status=Case.Status.INTAKE, family_name="Intake")
    make_case(organisation=other_org, family_name="Foreign")
    return [case, *extra]


@pytest.fixture
def template_fr(db):
    return LetterTemplate.objects.create(
        name="Soutien (test)",
        kind="support",
        language="fr",
        subject="Objet : soutien à la demande d'asile, dossier {{ case.reference }}",
        body=TEMPLATE_BODY,
    )


@pytest.fixture
def template_de(db):
    return LetterTemplate.objects.create(
        name="Unterstützung (test)",
        kind="support",
        language="de",
        subject="Betreff: Unterstützungsschreiben",
        body="Sehr geehrte Damen und Herren,\n\nwir unterstützen {{ client.full_name }}.",
    )


@pytest.fixture
def draft_letter(case, template_fr, ofpra, caseworker):
    return draft(case, template_fr, ofpra, caseworker)


@pytest.fixture
def in_review_letter(draft_letter, caseworker):
    services.letter_submit(letter=draft_letter, by=caseworker)
    draft_letter.refresh_from_db()
    return draft_letter


@pytest.fixture
def approved_letter(in_review_letter, coordinator):
    services.letter_approve(
        letter=in_review_letter, by=coordinator, text_hash=in_review_letter.text_hash
    )
    in_review_letter.refresh_from_db()
    return in_review_letter


@pytest.fixture
def issued_letter(approved_letter, coordinator, django_capture_on_commit_callbacks):
    """Issued and rendered for real (WeasyPrint), as the worker would."""
    with django_capture_on_commit_callbacks(execute=True):
        services.letter_issue(letter=approved_letter, by=coordinator)
    approved_letter.refresh_from_db()
    assert approved_letter.render_status == Letter.RenderStatus.READY, approved_letter.render_error
    return approved_letter


@pytest.fixture
def issued_stub_letter(approved_letter, coordinator):
    """Issued (rendering not run) with a stub PDF stored as if it had been rendered."""
    services.letter_issue(letter=approved_letter, by=coordinator)
    approved_letter.refresh_from_db()
    return store_stub_pdf(approved_letter)


# --- a case as complete as a real file: every default template can be issued for it ----------

STATEMENTS = {
    "fr": "Les faits de test en français.\n\nUn second paragraphe de faits.",
    "de": "Der Sachverhalt des Tests auf Deutsch.\n\nEin zweiter Absatz.",
    "en": "The facts of the test in English.\n\nA second paragraph of facts.",
    "ru": "Обстоятельства дела для проверки.\n\nВторой абзац.",
}
REFERENCES = {
    "ofpra": ("2101234567", {}),
    "cnda": ("25012345", {"date": date(2025, 3, 3)}),
    "bamf": ("8123456-160", {}),
    "vg": ("VG 33 K 123/25 A", {"court": "Verwaltungsgericht Berlin"}),
    "a_number": ("A 240-123-456", {}),
    "uscis_receipt": ("ZAR2590123456", {}),
    "eoir": (
        "A 240-123-456",
        {
            "court": "New York – Broadway Immigration Court",
            "judge": "Jane Doe",
            "date": date(2027, 1, 15),
        },
    ),
    "home_office": ("R1234567", {}),
    "unhcr": ("KAZ-25C01234", {}),
}


@pytest.fixture
def full_case(org, caseworker):
    """Milana Ivanova (fictional): a woman born on 13 July 1996 in Rostov-on-Don, Russian, who
    fled for her political opinion and her refusal to serve ("other" is recorded too, and must
    never be printed). Her name is registered by the authorities as "Yvanova", which the case
    chooses for letters; the transliteration on file is "Ivanova". She has every authority's
    reference and a statement for letters in each language."""
    for code in Ground.Code.values:
        Ground.objects.get_or_create(code=code)
    case = make_case(
        organisation=org,
        assignees=[caseworker],
        cyrillic=("Иванова", "Милана"),
        family_name="Ivanova",
        given_names="Milana",
        pseudonym="Heron",
        statements=STATEMENTS,
    )
    client = case.client
    client.gender = "f"
    client.birth_date = date(1996, 7, 13)
    client.birth_place = "Ростов-на-Дону"
    client.citizenships = ["RU"]
    client.save()
    registered = ClientName.objects.create(
        client=client,
        kind=ClientName.Kind.ALIAS,
        script="latn",
        family_name="Yvanova",
        given_names="Milana",
    )
    case.letter_name = registered
    case.opened_at = date(2024, 7, 2)
    case.save()
    case.grounds.set(Ground.objects.filter(code__in=["political", "military", "other"]))
    for kind, (value, extra) in REFERENCES.items():
        services_casework.reference_save(
            case=case, reference=CaseReference(kind=kind, value=value, **extra), by=caseworker
        )
    return case
