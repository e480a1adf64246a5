"""`manage.py seed_demo` and letters: the demo organisation can sign letters in every letter
language, its cases carry what their addressees' letters need, and its register holds letters
issued through the letters services, none of which the checks before issuing would refuse."""

import re

import pytest
from django.utils import timezone

from casework.models import Case, CaseLogEntry, Client, ClientName, Organisation
from demo.builders import ISSUED_STATUSES, LETTER_KINDS, DemoBuilder
from letters.checks import letter_problems
from letters.forms import fitting_template
from letters.models import Letter
from letters.services import default_signer
from tests.helpers import seed

# Demo documents go to a temporary folder, not to var/private.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

LANGUAGES = {"ru", "en", "fr", "de"}
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# The reference every case addressed to this authority has (its own file number).
OWN_REFERENCE = {
    "ofpra": "ofpra",
    "cnda": "cnda",
    "ta-nancy": "vg",
    "bamf": "bamf",
    "vg-berlin": "vg",
    "uscis": "a_number",
    "eoir": "a_number",
    "eoir-ny-broadway": "eoir",
    "eoir-sf": "eoir",
    "uk-home-office": "home_office",
    "unhcr-central-asia": "unhcr",
    "unhcr-georgia": "unhcr",
    "unhcr-armenia": "unhcr",
    "unhcr-turkiye": "unhcr",
}


def demo_cases():
    return list(
        Case.objects.select_related("client", "authority", "letter_name").prefetch_related(
            "references", "statements", "client__names"
        )
    )


def test_the_demo_organisation_speaks_every_letter_language():
    seed("--password", "demo-pass-2026")
    org = Organisation.objects.get()

    identities = {i.language: i for i in org.identities.all()}
    assert set(identities) == LANGUAGES
    for language, identity in identities.items():
        assert identity.name and identity.legal_form and identity.registration
        assert identity.address and identity.email and identity.phone and identity.website
        if language != "ru":
            # Nothing Russian inside a letter in another language: only the letterhead's
            # second line shows the Russian name, where the organisation wants it.
            for text in (identity.name, identity.legal_form, identity.address):
                assert not CYRILLIC.search(text), (language, text)
    assert identities["fr"].show_russian_name and identities["de"].show_russian_name
    assert "Moscou" in identities["fr"].address and "Moskau" in identities["de"].address

    signers = list(org.signers.all())
    assert len(signers) == 2
    chair = next(s for s in signers if s.is_default)
    for language in LANGUAGES:
        assert chair.signs_in(language)
        assert default_signer(org, language) == chair
    assert CYRILLIC.search(chair.name_in("ru")) and not CYRILLIC.search(chair.name_in("fr"))
    assert all(s.signs_in(language) for s in signers for language in LANGUAGES)


def test_demo_cases_carry_what_their_letters_need():
    seed("--password", "demo-pass-2026")
    cases = demo_cases()
    planned = {p.pseudonym: p for p in DemoBuilder()._plans()}

    # Gender as planned: the person's, and the neutral form for one non-binary client and one
    # whose form of address is unknown.
    genders = [c.client.gender for c in cases]
    for case in cases:
        assert case.client.gender == planned[case.client.pseudonym].gender
    assert genders.count(Client.Gender.NEUTRAL) == 1 and genders.count("") == 1
    assert genders.count("f") >= 10 and genders.count("m") >= 10
    assert any(c.client.birth_place_latin for c in cases)

    for case in cases:
        kinds = {r.kind for r in case.references.all()}
        languages = {s.language for s in case.statements.all()}
        assert "ru" in languages, case
        if case.authority is None:
            assert not kinds
            continue
        authority = case.authority
        assert OWN_REFERENCE[authority.code] in kinds, (authority.code, kinds)
        # What the fitting template cannot go without is there.
        template = fitting_template(authority)
        assert template is not None and set(template.requires) <= kinds, authority.code
        assert authority.language in languages
        for statement in case.statements.all():
            assert statement.text.count("\n\n") >= 1
            assert not re.search(r"[\[\]{}|]", statement.text), statement.text
            if statement.language != "ru":
                assert not CYRILLIC.search(statement.text), statement.text
        # A French or German authority's registered spelling is the one its letters use.
        if authority.country in ("FR", "DE"):
            aliases = [n for n in case.client.names.all() if n.kind == ClientName.Kind.ALIAS]
            if aliases:
                assert case.letter_name == aliases[0]
    references = [r for c in cases for r in c.references.all()]
    eoir = [r for r in references if r.kind == "eoir"]
    assert eoir and all(r.court and r.judge and r.value.startswith("A ") for r in eoir)
    assert all(r.date for r in references if r.kind == "cnda")
    assert all(r.court.startswith("Verwaltungsgericht") for r in references if r.value[:3] == "VG ")


def test_the_demo_register_holds_issued_letters_that_pass_the_checks():
    seed("--password", "demo-pass-2026")
    letters = list(
        Letter.objects.select_related(
            "case__organisation", "authority", "template_version__template", "signer"
        ).prefetch_related("case__references", "case__organisation__identities")
    )
    by_status = {status: [x for x in letters if x.status == status] for status in Letter.Status}

    numbered = sorted(
        by_status[Letter.Status.ISSUED] + by_status[Letter.Status.REVOKED],
        key=lambda x: x.sequence,
    )
    assert len(numbered) >= 8
    year = timezone.localdate().year
    assert [x.number for x in numbered] == [f"{year}/{n}" for n in range(1, len(numbered) + 1)]
    assert {x.language for x in numbered} >= {"fr", "de", "en"}
    for letter in numbered:
        case = letter.case
        assert case.status in ISSUED_STATUSES and case.kind in LETTER_KINDS
        assert letter.template_version.template.fits(letter.authority)
        assert letter.authority == case.authority and letter.facts
        assert letter.author.username.startswith("caseworker")
        assert letter.approved_by.username == letter.issued_by.username == "coordinator"
        assert letter.signer is not None and letter.signer_name and letter.signer_title
        # Waiting for the worker, which `make run` starts after seeding.
        assert letter.render_status == Letter.RenderStatus.PENDING
        assert case.log_entries.filter(
            action=CaseLogEntry.Action.LETTER, detail=f"issued as {letter.number}"
        ).exists()
    assert {x.signer.is_default for x in numbered} == {True, False}
    assert len(by_status[Letter.Status.REVOKED]) == 1
    assert by_status[Letter.Status.REVOKED][0].revocation_reason
    # The review queue has something; the caseworker is finishing other drafts.
    assert by_status[Letter.Status.IN_REVIEW] and by_status[Letter.Status.DRAFT]
    assert not by_status[Letter.Status.APPROVED]
    # No demo letter is one the checks before issuing would refuse.
    for letter in letters:
        assert letter_problems(letter) == [], (letter.number, letter.authority.code)


def test_seed_demo_prints_the_public_url_and_how_to_get_a_code(settings):
    settings.PRISTAN_PUBLIC_URL = "http://192.0.2.7:8130"

    out = seed()

    assert "Pristan demo: http://192.0.2.7:8130/" in out
    assert "127.0.0.1:8000" not in out
    assert ".venv/bin/python manage.py demo_totp USERNAME" in out


def test_seed_demo_says_second_factors_were_kept_only_when_they_were():
    fresh = seed()
    again = seed()
    reset = seed("--password", "demo-pass-2026")

    assert "were kept" not in fresh
    assert "Existing authenticators and recovery codes were kept" in again
    assert "were kept" not in reset
