"""The default letter templates (letters/default_templates/), loaded by a data migration, and
the letters they make for a complete fictional case (`full_case`): drafted, reviewed, issued and
rendered by the worker's code, then read back from the PDF as the receiving officer reads it.

Golden checks per template: the addressee's reference with its label, the Latin spelling the
case chose, the gender forms, dates in the letter's style, grounds in the jurisdiction's terms
and never "other", no Cyrillic in a French, German or English letter (but for the letterhead's
second line, which the organisation asked for), nothing left to fill in."""

import io
import os
import re
from pathlib import Path

import pypdf
import pytest
from django.apps import apps as global_apps

from letters import services
from letters.defaults import default_template_files, load_default_templates, parse_template_file
from letters.models import Letter, LetterTemplate, LetterTemplateVersion
from letters.sandbox import VARIABLES
from tests.factories import RUSSIAN_ORG_NAME
from tests.helpers import approve, draft
from tests.letters.helpers import fitting_authority

TEMPLATE_FILES = default_template_files()
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _file_id(path: Path) -> str:
    return path.name


def _template_for(path: Path) -> LetterTemplate:
    fields = parse_template_file(path)
    return LetterTemplate.objects.get(name=fields["name"], language=fields["language"])


# Set to a folder to keep the PDFs these tests make, to look at them (pdftoppm -png …).
SAMPLES = os.environ.get("PRISTAN_LETTER_SAMPLES")


def pdf_text(letter: Letter) -> tuple[str, int]:
    """The PDF's text with every kind of space made one space, and its page count."""
    with letter.pdf.open("rb") as f:
        data = f.read()
    if SAMPLES:
        name = letter.template_version.template.name[:40].replace("/", "-")
        Path(SAMPLES, f"{letter.language}-{name}.pdf").write_bytes(data)
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")), len(
        reader.pages
    )


@pytest.fixture
def issue(full_case, caseworker, coordinator, django_capture_on_commit_callbacks):
    def issue(path: Path) -> Letter:
        template = _template_for(path)
        letter = draft(full_case, template, fitting_authority(template), caseworker)
        letter = approve(letter, author=caseworker, approver=coordinator)
        with django_capture_on_commit_callbacks(execute=True):
            services.letter_issue(letter=letter, by=coordinator)
        letter.refresh_from_db()
        assert letter.render_status == Letter.RenderStatus.READY, letter.render_error
        return letter

    return issue


# --- the files and their loading --------------------------------------------------------------


def test_one_template_per_genre_and_jurisdiction():
    assert {p.name for p in TEMPLATE_FILES} == {
        "ofpra.fr.txt",
        "cnda.fr.txt",
        "ta.fr.txt",
        "bamf.de.txt",
        "vg.de.txt",
        "uscis.en.txt",
        "eoir.en.txt",
        "home-office.en.txt",
        "unhcr.en.txt",
        "unhcr.ru.txt",
        "confirmation.ru.txt",
        "confirmation.en.txt",
        "confirmation.fr.txt",
        "confirmation.de.txt",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_file_id)
def test_each_file_is_a_template_with_an_identical_version_1(path):
    fields = parse_template_file(path)
    template = _template_for(path)
    assert template.is_active
    for field in ("kind", "language", "authority_kinds", "countries", "requires", "subject"):
        assert getattr(template, field) == fields[field], field
    assert template.body == fields["body"]
    version = LetterTemplateVersion.objects.get(template=template, number=1)
    assert (version.subject, version.body) == (template.subject, template.body)
    assert template.current_version == version


@pytest.mark.django_db
def test_loading_again_changes_nothing_and_keeps_an_edited_template():
    template = _template_for(TEMPLATE_FILES[0])
    template.body = "Edited by an administrator: {{ client.full_name }}"
    template.save(update_fields=["body"])
    before = (LetterTemplate.objects.count(), LetterTemplateVersion.objects.count())
    assert load_default_templates(global_apps) == 0
    assert (LetterTemplate.objects.count(), LetterTemplateVersion.objects.count()) == before
    template.refresh_from_db()
    assert template.body.startswith("Edited by an administrator")


def test_templates_use_only_known_variables_and_no_date_filter():
    for path in TEMPLATE_FILES:
        text = path.read_text(encoding="utf-8")
        used = set(re.findall(r"{{\s*([a-z_]+\.[a-z_]+)", text))
        assert used <= set(VARIABLES), path.name
        assert "|date" not in text, path.name
        assert "summary" not in text, path.name


def test_paragraphs_are_not_hard_wrapped():
    """The print layout turns a single newline into a line break, so a paragraph is one line."""
    for path in TEMPLATE_FILES:
        for paragraph in parse_template_file(path)["body"].split("\n\n"):
            assert "\n" not in paragraph.strip("\n"), (path.name, paragraph[:60])


def test_the_parser_reads_lists_and_refuses_what_it_cannot_make_sense_of(tmp_path):
    good = tmp_path / "sample.en.txt"
    good.write_bytes(
        "\ufeffname: Sample\r\nKIND: Support\r\nFor: asylum_office, unhcr\r\nCountries: us, gb\r\n"
        "Requires: a_number\r\nSubject:  Hello {{ client.identity }} \r\n\r\nDear Sir or Madam,"
        "\r\n\r\nText.\r\n\r\n".encode()
    )
    assert parse_template_file(good) == {
        "name": "Sample",
        "kind": "support",
        "language": "en",
        "authority_kinds": ["asylum_office", "unhcr"],
        "countries": ["US", "GB"],
        "requires": ["a_number"],
        "subject": "Hello {{ client.identity }}",
        "body": "Dear Sir or Madam,\n\nText.",
    }
    for filename, text in [
        ("bad-kind.en.txt", "Name: X\nKind: poem\n\nBody"),
        ("bad-for.en.txt", "Name: X\nKind: support\nFor: embassy\n\nBody"),
        ("bad-country.en.txt", "Name: X\nKind: support\nCountries: France\n\nBody"),
        ("bad-ref.en.txt", "Name: X\nKind: support\nRequires: passport\n\nBody"),
        ("no-name.en.txt", "Kind: support\n\nBody"),
        ("empty.en.txt", "Name: X\nKind: support\n\n"),
        ("bad-language.xx.txt", "Name: X\nKind: support\n\nBody"),
    ]:
        path = tmp_path / filename
        path.write_text(text, "utf-8")
        with pytest.raises(ValueError):
            parse_template_file(path)


# --- the letters, as the officer reads them ----------------------------------------------------

# What each letter must show: the addressee's reference with its label, and words that only the
# right genre, gender and date style produce.
EXPECTED = {
    "ofpra.fr.txt": ["OFPRA n° 2101234567", "née le 13 juillet 1996", "Rostov-sur-le-Don"],
    "cnda.fr.txt": ["Recours n° 25012345", "3 mars 2025", "née le 13 juillet 1996"],
    "ta.fr.txt": ["Madame YVANOVA Milana"],
    "bamf.de.txt": ["Ihr Zeichen", "Gesch.-Z. 8123456-160", "Unser Zeichen", "13. Juli 1996"],
    "vg.de.txt": ["Az. VG 33 K 123/25 A", "§ 3a Abs. 2 Nr. 5 AsylG", "13. Juli 1996"],
    "eoir.en.txt": ["A-Number A 240-123-456", "Dear Judge Doe:", "January 15, 2027"],
    "uscis.en.txt": ["A-Number A 240-123-456", "July 13, 1996", "Ms. Milana YVANOVA"],
    "home-office.en.txt": ["Home Office ref. R1234567", "13 July 1996", "Article 3"],
    "unhcr.en.txt": ["UNHCR reg. No. KAZ-25C01234", "YVANOVA Milana"],
    "unhcr.ru.txt": ["Рег. № УВКБ ООН KAZ-25C01234", "13 июля 1996 г."],
    "confirmation.ru.txt": ["13 июля 1996 г."],
    "confirmation.en.txt": ["YVANOVA Milana"],
    "confirmation.fr.txt": ["YVANOVA Milana"],
    "confirmation.de.txt": ["YVANOVA Milana"],
}
NEVER = [
    "autres motifs",
    "sonstige Gründe",
    "other grounds",
    "иные основания",
    "(e)",
    "⟦",
    "{{",
    "{%",
    "Ivanova",  # the transliteration on file: the case chose the authority's spelling
    "Rostov-Na-Donu",
    "Test Refugee Committee de",  # never the organisation's name glued to a title
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_file_id)
def test_the_letter_reads_right(path, issue):
    letter = issue(path)
    text, pages = pdf_text(letter)
    for expected in EXPECTED[path.name]:
        assert expected in text, (path.name, expected)
    for never in NEVER:
        assert never not in text, (path.name, never)
    assert letter.case.reference in text  # our own reference
    assert letter.number in text
    assert ("Мария Пример" if letter.language == "ru" else "Maria Example") in text
    if letter.language == "ru":
        assert "Иванова Милана" in text or "ИВАНОВА Милана" in text
    else:
        assert not CYRILLIC.search(text.replace(RUSSIAN_ORG_NAME, "")), path.name
        assert "YVANOVA Milana" in text or "Milana Yvanova" in text
    if letter.template_version.template.kind == LetterTemplate.Kind.CONFIRMATION:
        assert pages == 1, "a confirmation fits on one page"
    # The printed code is the one the verification page takes (typed, grouped or not).
    assert letter.printed_token in text


@pytest.mark.django_db
def test_a_letter_in_the_neutral_form_for_a_person_whose_gender_is_not_recorded(full_case, issue):
    full_case.client.gender = ""
    full_case.client.save(update_fields=["gender"])
    text, _pages = pdf_text(issue(Path(TEMPLATE_FILES[0]).with_name("ofpra.fr.txt")))
    assert not re.search(r"\bnée?\b", text) and "(e)" not in text
    assert "Madame" not in text.split("Madame, Monsieur")[-1].split("Je vous prie")[0]
