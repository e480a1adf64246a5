"""Letters fixtures: templates, addressees and one letter of `case` at every stage.

Our own templates are created here (the default templates shipped by a data migration are not
relied upon), and PDFs are stored in a temporary private folder, never under var/.
"""

import pytest
from django.core.files.base import ContentFile

from casework.models import Authority
from letters import services
from letters.models import Letter, LetterTemplate

CYRILLIC_SENTENCE = "Мы подтверждаем его слова."
GERMAN_WORD = "Größe"
BODY_MARKER = "Nous soutenons la demande"
TEMPLATE_BODY = (
    "Madame, Monsieur,\n"
    "\n"
    f"{BODY_MARKER} de {{{{ client.full_name }}}} (dossier {{{{ case.reference }}}}).\n"
    "\n"
    f"Il nous a écrit : « {CYRILLIC_SENTENCE} » Taille de la {GERMAN_WORD} : moyenne.\n"
    "\n"
    "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
)
STUB_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

AUTHORITIES = {
    "ofpra": (
        "OFPRA",
        "Office français de protection des réfugiés et apatrides",
        "asylum_office",
        "FR",
        "fr",
        "201 rue Carnot\n94136 Fontenay-sous-Bois Cedex\nFrance",
    ),
    "bamf": (
        "BAMF",
        "Bundesamt für Migration und Flüchtlinge",
        "asylum_office",
        "DE",
        "de",
        "Frankenstraße 210\n90461 Nürnberg\nDeutschland",
    ),
}


def get_authority(code: str) -> Authority:
    """The reference-data authority; recreated if a transactional test flushed the tables."""
    short, name, kind, country, language, address = AUTHORITIES[code]
    authority, _ = Authority.objects.get_or_create(
        code=code,
        defaults={
            "short_name": short,
            "name": name,
            "kind": kind,
            "country": country,
            "language": language,
            "address": address,
        },
    )
    return authority


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Letter PDFs go to a temporary private folder, configured the way production is."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    return root


@pytest.fixture
def ofpra(db):
    return get_authority("ofpra")


@pytest.fixture
def bamf(db):
    return get_authority("bamf")


@pytest.fixture
def case(org, caseworker, volunteer, lawyer, lawyer_expired, ofpra):
    """The persona case of tests/conftest.py, addressed to OFPRA even after a flush."""
    from tests.factories import make_case, make_share

    case = make_case(organisation=org, assignees=[caseworker, volunteer], pseudonym="Falcon")
    case.authority = ofpra
    case.save(update_fields=["authority"])
    make_share(case=case, lawyer=lawyer, days=30)
    make_share(case=case, lawyer=lawyer_expired, days=-1)
    return case


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


def draft(case, template, authority, by) -> Letter:
    return services.letter_draft(case=case, template=template, authority=authority, by=by)


def approve(letter, *, author, approver) -> Letter:
    services.letter_submit(letter=letter, by=author)
    services.letter_approve(letter=letter, by=approver, text_hash=letter.text_hash)
    letter.refresh_from_db()
    return letter


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


def store_stub_pdf(letter: Letter) -> Letter:
    """Mark an issued letter ready with a tiny stored PDF, to test access without WeasyPrint."""
    import hashlib

    letter.pdf.save(f"letters/stub-{letter.pk}.pdf", ContentFile(STUB_PDF), save=False)
    letter.pdf_sha256 = hashlib.sha256(STUB_PDF).hexdigest()
    letter.pdf_size = len(STUB_PDF)
    letter.render_status = Letter.RenderStatus.READY
    letter.save(update_fields=["pdf", "pdf_sha256", "pdf_size", "render_status"])
    return letter


@pytest.fixture
def issued_stub_letter(approved_letter, coordinator):
    """Issued (rendering not run) with a stub PDF stored as if it had been rendered."""
    services.letter_issue(letter=approved_letter, by=coordinator)
    approved_letter.refresh_from_db()
    return store_stub_pdf(approved_letter)
