"""Rendering: the stored PDF reads back right (number, addressee, Cyrillic, German), is the
file whose hash is recorded, declares PDF/A with embedded fonts, and can reach no file or
network resource."""

import hashlib
import io
import re
import zlib
from pathlib import Path

import pypdf
import pytest
from django.urls import reverse

from letters import rendering, services
from letters.models import Letter, LetterTemplate
from tests.factories import GERMAN_WORD, RUSSIAN_ORG_NAME

PASSWD_MARKER = b"root:x:0:0"


def pdf_bytes(letter: Letter) -> bytes:
    with letter.pdf.open("rb") as f:
        return f.read()


def normalised_text(reader: pypdf.PdfReader) -> str:
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text)


def every_decoded_stream(data: bytes) -> list[bytes]:
    """Every stream of the file, decompressed when it is compressed, found in the raw bytes so
    that nothing (object streams, embedded files, images) is skipped."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        raw = match.group(1)
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            try:
                out.append(zlib.decompressobj().decompress(raw))
            except zlib.error:
                out.append(raw)
    return out


def contains_anywhere(data: bytes, needle: bytes) -> bool:
    if needle in data:
        return True
    if any(needle in stream for stream in every_decoded_stream(data)):
        return True
    reader = pypdf.PdfReader(io.BytesIO(data))
    for page in reader.pages:
        if needle.decode() in (page.extract_text() or ""):
            return True
    return any(
        needle in content for contents in reader.attachments.values() for content in contents
    )


def font_dicts(reader: pypdf.PdfReader):
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {})
        for font in fonts.get_object().values():
            yield font.get_object()


def font_descriptor(font):
    if "/FontDescriptor" in font:
        return font["/FontDescriptor"].get_object()
    for descendant in font.get("/DescendantFonts", []):
        descendant = descendant.get_object()
        if "/FontDescriptor" in descendant:
            return descendant["/FontDescriptor"].get_object()
    return None


@pytest.fixture
def passwd_present():
    if PASSWD_MARKER not in Path("/etc/passwd").read_bytes():
        pytest.skip("/etc/passwd has no root line to look for on this machine")


def test_pdf_reads_back_number_addressee_cyrillic_and_german(issued_letter):
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(issued_letter)))
    text = normalised_text(reader)
    assert issued_letter.number in text
    assert "Office français de protection" in text
    assert RUSSIAN_ORG_NAME in text
    assert GERMAN_WORD in text
    assert issued_letter.case.reference in text
    assert issued_letter.verification_token in text.replace(" ", "")


def test_stored_pdf_matches_recorded_hash_and_size(issued_letter):
    data = pdf_bytes(issued_letter)
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == issued_letter.pdf_sha256
    assert len(data) == issued_letter.pdf_size
    assert issued_letter.rendered_at is not None
    assert issued_letter.render_error == ""
    assert issued_letter.render_attempts == 1


def test_pdf_declares_pdf_a_3a_and_pdf_ua_1(issued_letter):
    """What the file claims; test_pdf_validation.py checks that the claims are true."""
    data = pdf_bytes(issued_letter)
    reader = pypdf.PdfReader(io.BytesIO(data))
    xmp = reader.xmp_metadata
    assert xmp is not None
    xml = xmp.stream.get_data()
    assert re.search(rb"pdfaid:part(>|=\")3", xml), xml[:2000]
    assert re.search(rb"pdfaid:conformance(>|=\")A", xml, re.IGNORECASE)
    assert re.search(rb"pdfuaid:part(>|=\")1", xml)
    root = reader.trailer["/Root"]
    assert "/OutputIntents" in root
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "fr"


def test_fonts_are_embedded(issued_letter):
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(issued_letter)))
    fonts = list(font_dicts(reader))
    assert fonts
    for font in fonts:
        descriptor = font_descriptor(font)
        assert descriptor is not None, font
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font


def test_file_url_in_a_letter_body_embeds_nothing(
    case, ofpra, caseworker, coordinator, django_capture_on_commit_callbacks, passwd_present
):
    template = LetterTemplate.objects.create(
        name="Hostile",
        kind="support",
        language="fr",
        body='Texte.\n\n<img src="file:///etc/passwd"><link rel="attachment" '
        'href="file:///etc/passwd"><iframe src="file:///etc/passwd"></iframe>',
    )
    letter = services.letter_draft(case=case, template=template, authority=ofpra, by=caseworker)
    services.letter_submit(letter=letter, by=caseworker)
    services.letter_approve(letter=letter, by=coordinator, text_hash=letter.text_hash)
    with django_capture_on_commit_callbacks(execute=True):
        services.letter_issue(letter=letter, by=coordinator)
    letter.refresh_from_db()
    assert letter.render_status == Letter.RenderStatus.READY, letter.render_error
    data = pdf_bytes(letter)
    assert not contains_anywhere(data, PASSWD_MARKER)
    assert pypdf.PdfReader(io.BytesIO(data)).attachments == {}


def test_file_url_in_html_embeds_nothing(passwd_present):
    pdf = rendering.html_to_pdf(
        '<html><body><img src="file:///etc/passwd"><link rel=attachment '
        'href="file:///etc/passwd"><p>x</p></body></html>'
    )
    assert pdf.startswith(b"%PDF-")
    assert not contains_anywhere(pdf, PASSWD_MARKER)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {}
    assert "x" in normalised_text(reader)


def test_css_and_network_references_embed_nothing(passwd_present):
    pdf = rendering.html_to_pdf(
        "<html><head><style>@import url(file:///etc/passwd);"
        "body { background: url(file:///etc/passwd) }</style>"
        '<link rel="stylesheet" href="file:///etc/passwd"></head><body>'
        '<object data="file:///etc/passwd"></object><embed src="file:///etc/passwd">'
        '<img src="http://127.0.0.1:9/x.png"><p>y</p></body></html>'
    )
    assert not contains_anywhere(pdf, PASSWD_MARKER)


def test_the_detection_would_see_an_embedded_file(tmp_path):
    """Control: with WeasyPrint's default fetcher the same markup does embed the file, and the
    checks above find it — so their passing means something."""
    from weasyprint import HTML

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"marker " + PASSWD_MARKER + b" end")
    pdf = HTML(
        string=f'<link rel=attachment href="{secret.as_uri()}"><p>x</p>', base_url=str(tmp_path)
    ).write_pdf()
    assert contains_anywhere(pdf, PASSWD_MARKER)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1:9/",
        "https://example.org/logo.png",
        "ftp://example.org/x",
    ],
)
def test_url_fetcher_refuses_everything_but_data(url):
    fetcher = rendering.DataOnlyURLFetcher()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch(url)


def test_url_fetcher_serves_data_uris():
    response = rendering.DataOnlyURLFetcher().fetch("data:text/plain;base64,aGVsbG8=")
    assert response.read() == b"hello"


def test_template_error_at_draft_time_is_shown_not_a_500(client, case, caseworker, ofpra):
    broken = LetterTemplate.objects.create(
        name="Broken", kind="support", language="fr", body="Bonjour\n\n{{ settings.SECRET_KEY }}"
    )
    client.force_login(caseworker)
    response = client.post(
        reverse("letters:letter_new", args=[case.reference]),
        {"template": broken.pk, "authority": ofpra.pk},
    )
    assert response.status_code == 200
    assert "has an error" in response.text
    assert "line 3" in response.text
    assert not Letter.objects.filter(case=case).exists()


def test_draft_preview_pdf_is_marked_and_not_stored(
    client, draft_letter, caseworker, private_media
):
    client.force_login(caseworker)
    response = client.get(reverse("letters:letter_preview_pdf", args=[draft_letter.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = normalised_text(pypdf.PdfReader(io.BytesIO(response.content)))
    assert "PROJET" in text  # the draft watermark, in the letter's language
    assert RUSSIAN_ORG_NAME in text
    assert not any(p.is_file() for p in private_media.rglob("*"))


def test_render_failure_is_readable_and_can_be_retried(
    approved_letter, coordinator, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(html, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(services, "html_to_pdf", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.letter_issue(letter=approved_letter, by=coordinator)
    approved_letter.refresh_from_db()
    assert approved_letter.status == Letter.Status.ISSUED
    assert approved_letter.render_status == Letter.RenderStatus.FAILED
    assert approved_letter.render_error == "Rendering failed: MemoryError"
    assert not approved_letter.pdf

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.letter_retry_render(letter=approved_letter)
    approved_letter.refresh_from_db()
    assert approved_letter.render_status == Letter.RenderStatus.READY
    assert approved_letter.render_error == ""
    assert approved_letter.number.endswith("/1")
