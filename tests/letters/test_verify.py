"""The public verification page /v/<token>/: printed on every letter, so it must answer
without login, say only register facts (never anything about the person), have the same shape
for unknown tokens, compare uploaded PDFs byte for byte, and resist scraping.

Officers type the code from paper (any case, spaces, dashes, look-alikes), read the page in
French, German, English or Russian, may check the applicant's date of birth (matches / does
not match, nothing more), and are told when a letter was replaced by a corrected one."""

import datetime
import io
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pypdf
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from core import ratelimit
from letters import rendering, services, views
from letters.models import CROCKFORD_ALPHABET, Letter, group_token, normalise_token
from tests.helpers import BODY_MARKER, approve, draft

TITLE = "<title>Letter verification · Pristan</title>"
HEADING = "Verification of a letter"
FOOTER = "It contains no personal data of the person the letter concerns."


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    """Rate-limit counts start at zero. In the database cache (no CACHE_URL) they go with
    each test's transaction; a cache server is emptied around each test."""
    if settings.CACHES["default"]["BACKEND"].endswith(".DatabaseCache"):
        yield
        return
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
    values = [client.pseudonym, letter.case.reference, BODY_MARKER]
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


def test_new_tokens_are_crockford_base32_with_100_bits(case, template_fr, ofpra, caseworker):
    token = draft(case, template_fr, ofpra, caseworker).verification_token
    assert len(token) == 20  # 20 symbols of 5 bits
    assert set(token) <= set(CROCKFORD_ALPHABET)
    assert not set(token) & set("ILOU-_ abcdefghijklmnopqrstuvwxyz")
    assert len(CROCKFORD_ALPHABET) == 32
    assert normalise_token(token) == token


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


@pytest.mark.parametrize(
    "token",
    ["unknown-token-0123456789", "x", "ZZZZ ZZZZ ZZZZ ZZZZ ZZZZ", "zzzz-zzzz-zzzz-zzzz-zzzz"],
)
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
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: frozen))
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
        ratelimit, "timezone", SimpleNamespace(now=lambda: frozen + datetime.timedelta(minutes=1))
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


# Codes typed from paper ------------------------------------------------------------------------

TOKEN = "7KQ2M9XD4HBT0RWE3N51"  # a new-style token with a 0 and a 1, for the look-alikes
OLD_TOKEN = "aB3-dE_fGh1JkLmNoPqRsT"  # secrets.token_urlsafe(16), as issued before


def with_token(letter, token: str):
    Letter.objects.filter(pk=letter.pk).update(verification_token=token)
    letter.refresh_from_db()
    return letter


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        (TOKEN, TOKEN),
        ("7KQ2 M9XD 4HBT 0RWE 3N51", TOKEN),
        ("7kq2-m9xd-4hbt-0rwe-3n51", TOKEN),
        (" 7kq2m9xd\t4hbt 0rwe\n3n51 ", TOKEN),
        ("7KQ2\u00a0M9XD\u202f4HBT\u20130RWE\u20103N51", TOKEN),  # no-break spaces, dashes
        ("7KQ2 M9XD 4HBT ORWE 3N5I", TOKEN),  # O for 0, I for 1
        ("7kq2 m9xd 4hbt orwe 3n5l", TOKEN),  # o for 0, l for 1
        ("7KQ2 M9XD 4HBT 0RWE 3N5", None),  # one symbol short
        ("7KQ2 M9XD 4HBT 0RWE 3N5U", None),  # U is not in the alphabet
        ("7KQ2 M9XD 4HBT 0RWE 3N5_", None),
        ("7KQ2 M9XD 4HBT 0RWE 3Nß", None),  # "ß".upper() is "SS": not read as two symbols
        (OLD_TOKEN, None),
    ],
)
def test_normalise_token(typed, canonical):
    assert normalise_token(typed) == canonical


def test_printed_token_is_grouped_by_four():
    assert group_token(TOKEN) == "7KQ2 M9XD 4HBT 0RWE 3N51"
    assert group_token(OLD_TOKEN) == OLD_TOKEN  # old tokens are printed as they were


@pytest.mark.parametrize(
    "typed",
    [
        TOKEN,
        "7KQ2 M9XD 4HBT 0RWE 3N51",
        "7KQ2-M9XD-4HBT-0RWE-3N51",
        "7kq2m9xd4hbt0rwe3n51",
        "7kq2 m9xd-4hbt 0rwe-3n51",
        "7KQ2M9XD4HBTORWE3N5I",
        "7KQ2M9XD4HBToRWE3N5l",
    ],
)
def test_typed_code_verifies(client, issued_letter, typed):
    with_token(issued_letter, TOKEN)
    response = client.get(verify_url(typed))
    assert response.status_code == 200
    assert "This letter is VALID" in response.text
    assert issued_letter.number in response.text
    assert "7KQ2 M9XD 4HBT 0RWE 3N51" in response.text  # the code, to compare with the paper


def test_typed_code_in_an_url_with_encoded_spaces(client, issued_letter):
    with_token(issued_letter, TOKEN)
    response = client.get("/v/" + quote("7kq2 m9xd 4hbt 0rwe 3n51") + "/")
    assert response.status_code == 200
    assert issued_letter.number in response.text


def test_old_urlsafe_token_still_verifies_exactly(client, issued_letter):
    with_token(issued_letter, OLD_TOKEN)
    response = client.get(verify_url(OLD_TOKEN))
    assert response.status_code == 200
    assert issued_letter.number in response.text
    # Old tokens are case-sensitive and their "-" and "_" count: no normalising for them.
    for variant in [OLD_TOKEN.lower(), OLD_TOKEN.upper(), OLD_TOKEN.replace("-", "")]:
        assert client.get(verify_url(variant)).status_code == 404


def test_old_token_that_looks_like_a_new_one_is_found_as_it_is(
    client, issued_letter, case, template_fr, ofpra, caseworker, coordinator
):
    """An old lowercase token that normalises to another letter's new token: exact first."""
    with_token(issued_letter, "7kq2m9xd4hbt0rwe3n51")
    other = approve(
        draft(case, template_fr, ofpra, caseworker), author=caseworker, approver=coordinator
    )
    services.letter_issue(letter=other, by=coordinator)
    with_token(other, TOKEN)
    assert issued_letter.number in client.get(verify_url("7kq2m9xd4hbt0rwe3n51")).text
    assert other.number in client.get(verify_url(TOKEN)).text
    assert other.number in client.get(verify_url("7KQ2 m9xd 4hbt 0rwe 3n51")).text


def test_one_query_for_any_token(client, issued_letter):
    for token in ["x", OLD_TOKEN, "ZZZZ ZZZZ ZZZZ ZZZZ ZZZZ", "a" * 300]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(verify_url(token)).status_code == 404
        # Besides the rate limit's count, when the cache is the database's table.
        table = settings.CACHES["default"]["LOCATION"]
        lookups = [
            q["sql"]
            for q in queries.captured_queries
            if table not in q["sql"] and "SAVEPOINT" not in q["sql"]  # (the cache's writes)
        ]
        assert len(lookups) == 1, lookups


def comparable(page: str) -> str:
    """A page without what changes on every request (CSRF token, CSP nonce)."""
    page = re.sub(r'"X-CSRFToken": "[^"]*"', "", page)
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'nonce="[^"]*"', "", page)


def test_not_found_is_the_same_page_for_any_code(
    client, issued_letter, case, template_fr, ofpra, caseworker
):
    draft_letter = draft(case, template_fr, ofpra, caseworker)
    tokens = [
        "x",
        OLD_TOKEN,
        "ZZZZZZZZZZZZZZZZZZZZ",
        "zzzz zzzz zzzz zzzz zzzz",
        issued_letter.verification_token.lower() + "0",
        draft_letter.verification_token,  # exists, but not issued
        '"><svg onload=alert(1)>',
    ]
    pages = set()
    for token in tokens:
        response = client.get(verify_url(token))
        assert response.status_code == 404
        assert "No letter was found for this code." in response.text
        pages.add(comparable(response.text))
    assert len(pages) == 1
    page = pages.pop()
    assert issued_letter.number not in page and "<svg" not in page


def test_code_form_page(client):
    response = client.get(reverse("verify_code"))
    assert response.status_code == 200
    assert response.wsgi_request.user.is_anonymous
    assert 'name="token"' in response.text
    assert "No letter was found" not in response.text
    assert response["X-Robots-Tag"] == "noindex"


@pytest.mark.parametrize(
    "typed",
    [
        "7kq2 m9xd 4hbt 0rwe 3n51",
        " 7KQ2-M9XD-4HBT-0RWE-3N51 ",
        "https://pristan.example.org/v/7KQ2M9XD4HBT0RWE3N51/",
    ],
)
def test_code_form_sends_on_to_the_page(client, issued_letter, typed):
    with_token(issued_letter, TOKEN)
    response = client.get(reverse("verify_code"), {"token": typed, "lang": "de"})
    assert response.status_code == 302
    assert response["Location"].startswith("/v/") and response["Location"].endswith("/?lang=de")
    page = client.get(response["Location"])
    assert page.status_code == 200 and issued_letter.number in page.text
    assert "Dieses Schreiben ist GÜLTIG" in page.text


def test_code_form_keeps_old_tokens_intact(client, issued_letter):
    with_token(issued_letter, OLD_TOKEN)
    response = client.get(reverse("verify_code"), {"token": f" {OLD_TOKEN} "}, follow=True)
    assert response.status_code == 200 and issued_letter.number in response.text


def test_code_form_without_a_code(client):
    response = client.get(reverse("verify_code"), {"token": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.text


def test_the_page_offers_the_code_form(client, issued_letter):
    for token in [issued_letter.verification_token, "nope"]:
        page = client.get(verify_url(token)).text
        assert f'action="{reverse("verify_code")}"' in page and 'name="token"' in page


def test_printed_letter_has_the_grouped_code_in_a_token_span(issued_letter):
    with_token(issued_letter, TOKEN)
    html = rendering.letter_html(issued_letter)
    assert '<span class="token">7KQ2 M9XD 4HBT 0RWE 3N51</span>' in html
    assert f"/v/{TOKEN}/</span>" in html  # the address keeps the canonical form
    assert "Code de vérification\u00a0:" in html  # labelled in the letter's language


def test_issued_pdf_prints_the_grouped_code(issued_letter):
    reader = pypdf.PdfReader(io.BytesIO(pdf_of(issued_letter)))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert issued_letter.printed_token in text
    assert issued_letter.verification_token in text


# Languages -------------------------------------------------------------------------------------

FRENCH = "Cette lettre est VALABLE"
GERMAN = "Dieses Schreiben ist GÜLTIG"
RUSSIAN = "Это письмо ДЕЙСТВИТЕЛЬНО"
ENGLISH = "This letter is VALID"


@pytest.mark.parametrize(
    ("accept", "marker", "lang"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.5", FRENCH, "fr"),
        ("de-DE,de;q=0.9", GERMAN, "de"),
        ("de-AT", GERMAN, "de"),
        ("ru", RUSSIAN, "ru"),
        ("en-GB", ENGLISH, "en"),
        ("it-IT,it;q=0.9,fr;q=0.8", FRENCH, "fr"),  # the first language the page speaks
        ("it-IT", ENGLISH, "en"),
        ("", ENGLISH, "en"),
    ],
)
def test_page_speaks_the_browsers_language(client, issued_letter, accept, marker, lang):
    response = client.get(
        verify_url(issued_letter.verification_token), headers={"accept-language": accept}
    )
    assert response.status_code == 200
    assert marker in response.text
    assert f'<html lang="{lang}">' in response.text
    assert response["Content-Language"] == lang
    assert "Accept-Language" in response["Vary"]


def test_french_page(client, issued_letter):
    response = client.get(
        verify_url(issued_letter.verification_token), headers={"accept-language": "fr"}
    )
    page = response.text
    assert "<title>Vérification d'une lettre · Pristan</title>" in page
    assert "Cette lettre est VALABLE\u00a0: elle a été délivrée par l'organisation" in page
    for label in ["Délivrée par", "Numéro", "Destinataire", "Langue", "Code de vérification"]:
        assert label in page
    with translation.override("fr"):
        assert formats.date_format(timezone.localtime(issued_letter.issued_at)) in page
    assert "Comparer un fichier PDF" in page and "Fichier PDF de la lettre" in page
    assert "Elle ne contient aucune donnée personnelle" in page


def test_german_page(client, issued_letter, coordinator):
    services.letter_revoke(letter=issued_letter, reason="Fehler", by=coordinator)
    issued_letter.refresh_from_db()
    response = client.get(
        verify_url(issued_letter.verification_token), headers={"accept-language": "de"}
    )
    page = response.text
    assert "<title>Echtheitsprüfung eines Schreibens · Pristan</title>" in page
    assert "Dieses Schreiben wurde WIDERRUFEN und ist nicht mehr gültig." in page
    with translation.override("de"):
        revoked_on = formats.date_format(timezone.localtime(issued_letter.revoked_at))
    assert f"Widerrufen am {revoked_on}." in page
    for label in ["Ausgestellt von", "Nummer", "Empfänger", "Sprache", "Prüfcode"]:
        assert label in page
    assert "Sie enthält keine personenbezogenen Daten" in page
    assert "Fehler" not in page


def test_not_found_in_french_and_german(db, client):
    fr = client.get(verify_url("nope"), headers={"accept-language": "fr"})
    de = client.get(verify_url("nope"), headers={"accept-language": "de"})
    assert fr.status_code == de.status_code == 404
    assert "Aucune lettre ne correspond à ce code." in fr.text
    assert "Zu diesem Code wurde kein Schreiben gefunden." in de.text


@pytest.mark.parametrize("lang", ["fr", "de", "en", "ru"])
def test_language_switch(client, issued_letter, lang):
    """?lang= wins over the browser's language; the switch links to every language."""
    url = verify_url(issued_letter.verification_token)
    response = client.get(url, {"lang": lang}, headers={"accept-language": "ru"})
    assert response["Content-Language"] == lang
    assert f'<html lang="{lang}">' in response.text
    for code, name in [("fr", "Français"), ("de", "Deutsch"), ("en", "English"), ("ru", "Русский")]:
        assert f'href="?lang={code}" lang="{code}" hreflang="{code}"' in response.text
        assert f">{name}</a>" in response.text
    # The forms keep the language; the staff interface's ru/en switch is not on this page.
    assert f'action="{url}?lang={lang}"' in response.text
    assert f'name="lang" value="{lang}"' in response.text
    assert reverse("set_language") not in response.text


def test_unknown_lang_parameter_is_ignored(client, issued_letter):
    response = client.get(
        verify_url(issued_letter.verification_token),
        {"lang": "xx"},
        headers={"accept-language": "de"},
    )
    assert response["Content-Language"] == "de"


def test_the_staff_interface_stays_russian_and_english(settings):
    assert [code for code, _name in settings.LANGUAGES] == ["ru", "en"]


def verify_page_strings() -> list[str]:
    """Every translatable string of the verification page: template, forms, base layout."""
    root = Path(__file__).resolve().parents[2]
    template = (root / "templates/letters/verify.html").read_text()
    strings = re.findall(r'{% translate "([^"]+)" %}', template)
    strings += re.findall(r"{% blocktranslate [^%]*%}(.*?){% endblocktranslate %}", template)
    strings = [re.sub(r"{{ (\w+) }}", r"%(\1)s", s) for s in strings]
    forms = [
        "PDF file of the letter",
        "This file is larger than any letter (10 MB at most).",
        "Verification code printed on the letter",
        "Capitals, spaces and dashes do not matter.",
        "Date of birth of the person concerned",
    ]
    layout = ["Skip to content", "Main menu", "Language", "Close"]
    return strings + forms + layout


@pytest.mark.parametrize("lang", ["fr", "de", "ru"])
def test_every_string_of_the_page_is_translated(lang):
    strings = verify_page_strings()
    assert len(strings) > 30
    same_in_french = {"Date"}
    with translation.override(lang):
        untranslated = [
            s for s in strings if gettext(s) == s and not (lang == "fr" and s in same_in_french)
        ]
    assert untranslated == []


# Replaced letters ------------------------------------------------------------------------------


@pytest.fixture
def replacement(issued_letter, case, template_fr, ofpra, caseworker, coordinator):
    """A corrected letter that replaces `issued_letter`, issued."""
    letter = services.letter_draft(
        case=case,
        template=template_fr,
        authority=ofpra,
        by=caseworker,
        replaces=issued_letter,
    )
    approve(letter, author=caseworker, approver=coordinator)
    services.letter_issue(letter=letter, by=coordinator)
    letter.refresh_from_db()
    issued_letter.refresh_from_db()
    return letter


def test_issuing_a_replacement_revokes_the_old_letter(issued_letter, replacement):
    assert replacement.replaces == issued_letter
    assert issued_letter.status == Letter.Status.REVOKED
    assert issued_letter.revocation_reason == f"Replaced by {replacement.number}"
    assert replacement.number != issued_letter.number


def test_replaced_letter_names_its_replacement(client, issued_letter, replacement):
    response = client.get(verify_url(issued_letter.verification_token))
    assert response.status_code == 200
    page = response.text
    assert "This letter has been REPLACED and is no longer valid." in page
    with translation.override("en"):
        date = formats.date_format(timezone.localtime(replacement.issued_at))
    assert f"Replaced by letter No. {replacement.number} of {date}." in page
    assert "is VALID" not in page
    # The replacement's own page is not linked from the old one.
    assert replacement.verification_token not in page


def test_replaced_letter_in_french_and_german(client, issued_letter, replacement):
    url = verify_url(issued_letter.verification_token)
    fr = client.get(url, headers={"accept-language": "fr"}).text
    de = client.get(url, headers={"accept-language": "de"}).text
    assert "Cette lettre a été REMPLACÉE et n'est plus valable." in fr
    assert f"Remplacée par la lettre n°\u00a0{replacement.number} du " in fr
    assert "Dieses Schreiben wurde ERSETZT und ist nicht mehr gültig." in de
    assert f"Ersetzt durch das Schreiben Nr.\u00a0{replacement.number} vom " in de


def test_replacement_says_what_it_replaces(client, issued_letter, replacement):
    page = client.get(verify_url(replacement.verification_token)).text
    assert "This letter is VALID" in page
    assert f"Letter No. {issued_letter.number} of " in page


def test_a_replacement_not_yet_issued_changes_nothing(
    client, issued_letter, case, template_fr, ofpra, caseworker
):
    services.letter_draft(
        case=case, template=template_fr, authority=ofpra, by=caseworker, replaces=issued_letter
    )
    page = client.get(verify_url(issued_letter.verification_token)).text
    assert "This letter is VALID" in page and "REPLACED" not in page


def test_only_an_issued_letter_of_the_same_case_can_be_replaced(
    issued_letter, case, template_fr, ofpra, caseworker, org
):
    from tests.factories import make_case

    draft_letter = draft(case, template_fr, ofpra, caseworker)
    other_case = make_case(organisation=org, assignees=[caseworker])
    for case, replaces in [(draft_letter.case, draft_letter), (other_case, issued_letter)]:
        with pytest.raises(ValidationError):
            services.letter_draft(
                case=case, template=template_fr, authority=ofpra, by=caseworker, replaces=replaces
            )


# Date of birth ---------------------------------------------------------------------------------

BIRTH_DATE = datetime.date(1996, 7, 13)


@pytest.fixture
def born(issued_letter):
    client = issued_letter.case.client
    client.birth_date = BIRTH_DATE
    client.save(update_fields=["birth_date"])
    return issued_letter


def check_birth_date(client, letter, value, **headers):
    return client.post(verify_url(letter.verification_token), {"birth_date": value}, **headers)


def birth_date_spellings(date: datetime.date) -> list[str]:
    spellings = {date.isoformat(), date.strftime("%d.%m.%Y"), date.strftime("%d/%m/%Y")}
    spellings |= {date.strftime("%m/%d/%Y"), date.strftime("%Y%m%d")}
    for lang in ["en", "fr", "de", "ru"]:
        with translation.override(lang):
            spellings |= {formats.date_format(date), formats.date_format(date, "SHORT_DATE_FORMAT")}
    return sorted(spellings)


@pytest.mark.parametrize("typed", ["1996-07-13", "13/07/1996"])
def test_birth_date_matches(client, born, typed):
    response = check_birth_date(client, born, typed, headers={"accept-language": "fr"})
    assert response.status_code == 200
    assert "La date de naissance correspond." in response.text
    assert "ne correspond pas" not in response.text
    for spelling in birth_date_spellings(BIRTH_DATE):
        assert spelling not in response.text, spelling


@pytest.mark.parametrize("typed", ["1996-07-14", "1969-07-13", "1969-13-07"])
def test_birth_date_does_not_match(client, born, typed):
    response = check_birth_date(client, born, typed)
    assert response.status_code == 200
    if typed == "1969-13-07":  # not a date: the form says so, and nothing about the record
        assert "Enter a valid date." in response.text
    else:
        assert "The date of birth does not match." in response.text
    assert "The date of birth matches." not in response.text
    for spelling in birth_date_spellings(BIRTH_DATE):
        assert spelling not in response.text, spelling


def test_birth_date_answer_in_german(client, born):
    response = check_birth_date(client, born, "13.07.1996", headers={"accept-language": "de"})
    assert "Das Geburtsdatum stimmt überein." in response.text
    response = check_birth_date(client, born, "14.07.1996", headers={"accept-language": "de"})
    assert "Das Geburtsdatum stimmt nicht überein." in response.text


def test_birth_date_check_is_rate_limited(client, born, monkeypatch):
    frozen = datetime.datetime(2026, 3, 1, 12, 0, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: frozen))
    answers = [
        check_birth_date(client, born, f"1996-07-{day:02d}").status_code
        for day in range(1, views.VERIFY_BIRTH_DATE_RATE + 1)
    ]
    assert answers == [200] * views.VERIFY_BIRTH_DATE_RATE
    limited = check_birth_date(client, born, "1996-07-13")
    assert limited.status_code == 429
    assert "matches" not in limited.text and "does not match" not in limited.text
    # Viewing the page is still allowed, under the page's own limit.
    assert client.get(verify_url(born.verification_token)).status_code == 200
    monkeypatch.setattr(
        ratelimit, "timezone", SimpleNamespace(now=lambda: frozen + datetime.timedelta(minutes=1))
    )
    assert "The date of birth matches." in check_birth_date(client, born, "1996-07-13").text


def test_birth_date_check_only_for_a_valid_letter_with_a_date(client, born, coordinator):
    url = verify_url(born.verification_token)
    assert 'name="birth_date"' in client.get(url).text
    services.letter_revoke(letter=born, reason="—", by=coordinator)
    assert 'name="birth_date"' not in client.get(url).text
    response = check_birth_date(client, born, "1996-07-13")
    assert "matches" not in response.text and "does not match" not in response.text


def test_no_birth_date_check_without_a_date_on_record(client, issued_letter):
    assert issued_letter.case.client.birth_date is None
    assert 'name="birth_date"' not in client.get(verify_url(issued_letter.verification_token)).text
    response = check_birth_date(client, issued_letter, "1996-07-13")
    assert "matches" not in response.text and "does not match" not in response.text


def test_birth_date_check_on_an_unknown_code_says_nothing(client, born):
    response = client.post(verify_url("nope"), {"birth_date": "1996-07-13"})
    assert response.status_code == 404
    assert "matches" not in response.text and "does not match" not in response.text


@pytest.mark.parametrize("lang", ["fr", "de", "en", "ru"])
def test_no_personal_data_in_any_language_or_state(client, born, replacement, lang):
    headers = {"accept-language": lang}
    pages = [
        client.get(verify_url(born.verification_token), headers=headers).text,
        client.get(verify_url(replacement.verification_token), headers=headers).text,
    ]
    for page in pages:
        for value in personal_data(born):
            assert value not in page, value
        for spelling in birth_date_spellings(BIRTH_DATE):
            assert spelling not in page, spelling
