"""Every default template, issued and rendered by the worker's code path, is a valid PDF/A-3a
and PDF/UA-1 file according to an independent validator (page, which implements veraPDF's
rules and runs offline), not only a file that says so in its metadata."""

import io

import page
import pypdf
import pytest
import segno

from letters import rendering, services
from letters.defaults import default_template_files, parse_template_file
from letters.models import Letter, LetterTemplate
from tests.helpers import approve, draft
from tests.letters.helpers import fitting_authority

TEMPLATE_FILES = default_template_files()

# Rules that do not apply to these files. PDFA3B/3A-METADATA-FILTER-001 forbids a /Filter on
# the metadata stream: that is a PDF/A-1 rule (ISO 19005-1, 6.7.2); PDF/A-2 and -3 allow
# compressed metadata, and WeasyPrint compresses it.
NOT_APPLICABLE = {"PDFA3A-METADATA-FILTER-001", "PDFA3B-METADATA-FILTER-001"}


def violations(pdf: bytes, profile: str) -> list[str]:
    report = page.validate_pdf_bytes(pdf, profile=profile)
    return [
        f"{failure.rule_id}: {failure.message}"
        for failure in report.failures
        if failure.rule_id not in NOT_APPLICABLE
    ]


def _file_id(path) -> str:
    return path.name


@pytest.fixture
def issue_default_template(full_case, caseworker, coordinator, django_capture_on_commit_callbacks):
    def issue(path) -> Letter:
        fields = parse_template_file(path)
        template = LetterTemplate.objects.get(name=fields["name"], language=fields["language"])
        letter = draft(full_case, template, fitting_authority(template), caseworker)
        letter = approve(letter, author=caseworker, approver=coordinator)
        with django_capture_on_commit_callbacks(execute=True):
            services.letter_issue(letter=letter, by=coordinator)
        letter.refresh_from_db()
        assert letter.render_status == Letter.RenderStatus.READY, letter.render_error
        return letter

    return issue


def stored_pdf(letter: Letter) -> bytes:
    with letter.pdf.open("rb") as f:
        return f.read()


@pytest.mark.django_db
@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_file_id)
def test_default_template_is_valid_pdf_a_3a_and_pdf_ua_1(path, issue_default_template):
    pdf = stored_pdf(issue_default_template(path))
    assert violations(pdf, "3a") == []
    assert violations(pdf, "ua1") == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_file_id)
def test_default_template_pdf_has_title_author_subject_and_language(path, issue_default_template):
    letter = issue_default_template(path)
    reader = pypdf.PdfReader(io.BytesIO(stored_pdf(letter)))
    info = reader.metadata
    assert letter.number in info.title
    assert letter.subject in info.title
    assert info.author == letter.case.organisation.identities.get(language=letter.language).name
    assert info.subject == letter.subject
    assert reader.trailer["/Root"]["/Lang"] == letter.language


def test_the_validator_sees_what_the_letters_used_to_have():
    """Control: a PNG QR code (/Interpolate true) and an untagged PDF are reported, so the
    empty lists above mean something."""
    png = segno.make("https://example.org/v/x/").png_data_uri(scale=3)
    html = f'<html lang="en"><head><title>T</title></head><body><img src="{png}" alt="QR"></body>'
    assert any("IMAGE-INTERPOLATE" in v for v in violations(rendering.html_to_pdf(html), "3a"))
    untagged = rendering.html_to_pdf(html, archival=False)
    assert any("TAGGED-DOCUMENT" in v for v in violations(untagged, "ua1"))
