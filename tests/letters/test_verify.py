"""The public verification page /v/<token>/: printed on every letter, so it must answer
without login, say only register facts (never anything about the person), have the same shape
for unknown tokens, compare uploaded PDFs byte for byte, and resist scraping."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import formats, timezone, translation

from letters import services, views
from tests.helpers import BODY_MARKER, CYRILLIC_SENTENCE, draft

TITLE = "<title>Letter verification · Pristan</title>"
HEADING = "Verification of a letter"
FOOTER = "It contains no personal data of the person the letter concerns."


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def verify_url(token: str) -> str:
    return reverse("verify", kwargs={"token": token})


def pdf_of(letter) -> bytes:
    with letter.pdf.open("rb") as f:
        return f.read()


def upload(client, letter, data: bytes):
    return client.post(
        verify_url(letter.verification_token),
        {"pdf": SimpleUploadedFile("letter.pdf", data, content_type="application/pdf")},
    )


def personal_data(letter) -> list[str]:
    client = letter.case.client
    values = [client.pseudonym, letter.case.reference, BODY_MARKER, CYRILLIC_SENTENCE]
    for name in client.names.all():
        values += [name.family_name, name.given_names, name.full_name]
    values += [letter.subject, letter.body[:40]]
    return [v for v in values if v]


def test_stable_public_url():
    assert verify_url("abc") == "/v/abc/"


def test_tokens_are_random_and_long(case, template_fr, ofpra, caseworker):
    tokens = {draft(case, template_fr, ofpra, caseworker).verification_token for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(token) >= 20 for token in tokens)


def test_valid_letter(client, issued_letter):
    response = client.get(verify_url(issued_letter.verification_token))
    assert response.status_code == 200
    page = response.text
    assert "VALID" in page
    assert "REVOKED" not in page
    assert issued_letter.number in page
    assert issued_letter.case.organisation.name in page
    assert "Office français de protection des réfugiés et apatrides" in page
    assert issued_letter.pdf_sha256 in page
    assert "Français" in page  # the letter's language
    assert TITLE in page and HEADING in page
    assert response["X-Robots-Tag"] == "noindex"


def test_revoked_letter(client, issued_letter, coordinator):
    services.letter_revoke(letter=issued_letter, reason="Issued by mistake", by=coordinator)
    issued_letter.refresh_from_db()
    response = client.get(verify_url(issued_letter.verification_token))
    assert response.status_code == 200
    page = response.text
    assert "REVOKED" in page
    assert "is VALID" not in page
    with translation.override("en"):
        revoked_on = formats.date_format(timezone.localtime(issued_letter.revoked_at))
    assert f"Revoked on {revoked_on}." in page
    assert issued_letter.number in page
    # The reason is internal and may name the person: it is not published.
    assert "Issued by mistake" not in page


@pytest.mark.parametrize("token", ["unknown-token-0123456789", "x"])
def test_unknown_token_has_the_same_shape(client, issued_letter, token):
    known = client.get(verify_url(issued_letter.verification_token))
    unknown = client.get(verify_url(token))
    assert unknown.status_code == 404
    assert unknown["X-Robots-Tag"] == "noindex"
    for marker in (TITLE, HEADING, FOOTER):
        assert marker in known.text
        assert marker in unknown.text
    assert "No letter was found for this code." in unknown.text
    assert issued_letter.number not in unknown.text


@pytest.mark.parametrize("stage", ["draft_letter", "approved_letter"])
def test_letter_not_issued_is_unknown(client, request, stage):
    letter = request.getfixturevalue(stage)
    response = client.get(verify_url(letter.verification_token))
    assert response.status_code == 404
    assert "No letter was found for this code." in response.text


@pytest.mark.parametrize("revoked", [False, True])
def test_page_never_shows_personal_data(client, issued_letter, coordinator, revoked):
    if revoked:
        services.letter_revoke(letter=issued_letter, reason="—", by=coordinator)
    data = pdf_of(issued_letter)
    pages = [
        client.get(verify_url(issued_letter.verification_token)).text,
        upload(client, issued_letter, data).text,
        upload(client, issued_letter, data + b"\n").text,
    ]
    for page in pages:
        for value in personal_data(issued_letter):
            assert value not in page, value
        assert "Zuganshin" not in page and "Зуганшин" not in page and "Falcon" not in page


def test_identical_pdf(client, issued_letter):
    response = upload(client, issued_letter, pdf_of(issued_letter))
    assert response.status_code == 200
    assert "Identical" in response.text
    assert "Different" not in response.text


@pytest.mark.parametrize("where", ["middle", "first", "last"])
def test_tampered_pdf(client, issued_letter, where):
    data = bytearray(pdf_of(issued_letter))
    index = {"middle": len(data) // 2, "first": 0, "last": len(data) - 1}[where]
    data[index] ^= 0x01
    response = upload(client, issued_letter, bytes(data))
    assert response.status_code == 200
    assert "Different" in response.text
    assert "Identical" not in response.text


def test_upload_to_unknown_token_compares_nothing(client, issued_letter):
    response = client.post(
        verify_url("unknown-token-0123456789"),
        {"pdf": SimpleUploadedFile("x.pdf", pdf_of(issued_letter))},
    )
    assert response.status_code == 404
    assert "Identical" not in response.text and "Different" not in response.text


def test_rate_limit(client, issued_letter, monkeypatch):
    # One fixed minute, so the test cannot straddle two rate windows.
    frozen = datetime.datetime(2026, 3, 1, 12, 0, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(views, "timezone", SimpleNamespace(now=lambda: frozen))
    url = verify_url(issued_letter.verification_token)
    statuses = [client.get(url).status_code for _ in range(views.VERIFY_RATE)]
    assert statuses == [200] * views.VERIFY_RATE
    limited = client.get(url)
    assert limited.status_code == 429
    assert issued_letter.number not in limited.text
    # Unknown tokens count too (no free guessing), and other addresses are not affected.
    assert client.get(verify_url("nope")).status_code == 429
    assert client.get(url, REMOTE_ADDR="192.0.2.7").status_code == 200
    # The next minute is a new window.
    monkeypatch.setattr(
        views, "timezone", SimpleNamespace(now=lambda: frozen + datetime.timedelta(minutes=1))
    )
    assert client.get(url).status_code == 200


def test_works_without_login_and_is_not_indexed(client, issued_letter):
    response = client.get(verify_url(issued_letter.verification_token))
    assert response.status_code == 200
    assert response.wsgi_request.user.is_anonymous
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Referrer-Policy"] == "same-origin"
    assert 'name="robots" content="noindex' in response.text


def test_a_logged_in_user_sees_the_same_page(client, issued_letter, coordinator):
    client.force_login(coordinator)
    page = client.get(verify_url(issued_letter.verification_token)).text
    for value in personal_data(issued_letter):
        assert value not in page
