"""The default letter templates shipped in letters/default_templates/ and loaded by a data
migration: they are in the database after `migrate`, each with an identical version 1, and every
one of them passes the sandbox and renders cleanly with a realistic (fictional) case, with and
without the optional fields."""

import importlib
import re
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.utils import translation

from letters.models import LetterTemplate, LetterTemplateVersion
from letters.sandbox import VARIABLES, render_template

migration = importlib.import_module("letters.migrations.0002_default_templates")

TEMPLATE_FILES = sorted(migration.TEMPLATES_DIR.glob("*.txt"))
FRENCH_MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]  # fmt: skip

NAMES = {"ru": "Иванова Анна", "en": "Anna Ivanova", "fr": "Anna Ivanova", "de": "Anna Ivanova"}
CITIZENSHIP = {"ru": "Россия", "en": "Russia", "fr": "Russie", "de": "Russland"}
GROUNDS = {
    "ru": ["политические убеждения", "религиозные убеждения"],
    "en": ["political opinion", "religion"],
    "fr": ["opinions politiques", "religion"],
    "de": ["politische Überzeugung", "Religion"],
}
BIRTH_PLACE = {"ru": "Казань", "en": "Kazan", "fr": "Kazan", "de": "Kazan"}
SUMMARY = "Fictional summary written by the caseworker for this test."


def fake_context(language: str, *, minimal: bool = False) -> dict:
    """Same shape as letters.context.letter_context(); `minimal` leaves every optional field
    empty, as for a client whose date of birth and citizenship are not recorded yet."""
    return {
        "organisation": {
            "name": "Example Refugee Support Committee",
            "address": "1 Example Street\n00000 Example City",
            "email": "office@example.org",
            "phone": "+00 000 000 000",
        },
        "client": {
            "full_name": NAMES[language],
            "family_name": NAMES[language].split()[-1],
            "given_names": NAMES[language].split()[0],
            "birth_date": None if minimal else date(1990, 3, 14),
            "birth_place": "" if minimal else BIRTH_PLACE[language],
            "citizenship": "" if minimal else CITIZENSHIP[language],
        },
        "case": {
            "reference": "2026-0042",
            "opened_on": date(2025, 10, 2),
            "grounds": [] if minimal else GROUNDS[language],
            "summary": "" if minimal else SUMMARY,
            "destination": "",
        },
        "authority": {"name": "Example Authority", "short_name": "EA", "address": ""},
        "letter": {
            "date": date(2026, 11, 22),
            "signer_name": "Maria Example",
            "signer_title": "" if minimal else "Chair",
        },
    }


def _file_id(path: Path) -> str:
    return path.name


def _template_for(path: Path) -> LetterTemplate:
    fields = migration.parse_template_file(path)
    return LetterTemplate.objects.get(name=fields["name"], language=fields["language"])


def test_the_shipped_files_are_all_there():
    names = {p.name for p in TEMPLATE_FILES}
    for expected in (
        "ofpra-support.fr.txt",
        "cnda-support.fr.txt",
        "bamf-support.de.txt",
        "court-support.de.txt",
        "uscis-support.en.txt",
        "eoir-support.en.txt",
        "confirmation.en.txt",
        "confirmation.fr.txt",
        "confirmation.de.txt",
        "confirmation.ru.txt",
        "support.ru.txt",
        "urgent.en.txt",
        "urgent.fr.txt",
    ):
        assert expected in names


@pytest.mark.django_db
def test_an_active_template_for_every_language():
    languages = set(
        LetterTemplate.objects.filter(is_active=True).values_list("language", flat=True)
    )
    assert {"ru", "en", "fr", "de"} <= languages


@pytest.mark.django_db
@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_file_id)
def test_each_file_is_a_template_with_an_identical_version_1(path):
    fields = migration.parse_template_file(path)
    template = _template_for(path)
    assert template.is_active
    assert (template.kind, template.language, template.authority_kind) == (
        fields["kind"],
        fields["language"],
        fields["authority_kind"],
    )
    assert template.subject == fields["subject"] and template.subject
    assert template.body == fields["body"]
    version = LetterTemplateVersion.objects.get(template=template, number=1)
    assert version.body == template.body
    assert version.subject == template.subject
    assert version.created_by is None
    assert template.current_version == version


@pytest.mark.django_db
def test_loading_again_changes_nothing():
    before = (LetterTemplate.objects.count(), LetterTemplateVersion.objects.count())
    migration.load_default_templates(global_apps, None)
    assert (LetterTemplate.objects.count(), LetterTemplateVersion.objects.count()) == before


@pytest.mark.django_db
def test_an_edited_template_is_not_overwritten():
    template = _template_for(TEMPLATE_FILES[0])
    template.body = "Edited by an administrator: {{ client.full_name }}"
    template.save(update_fields=["body"])
    migration.load_default_templates(global_apps, None)
    template.refresh_from_db()
    assert template.body == "Edited by an administrator: {{ client.full_name }}"


@pytest.mark.django_db
@pytest.mark.parametrize("minimal", [False, True], ids=["full", "minimal"])
@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_file_id)
def test_each_template_renders_cleanly(path, minimal):
    template = _template_for(path)
    language = template.language
    context = fake_context(language, minimal=minimal)
    with translation.override(language):
        body = render_template(template.body, context).strip()
        subject = render_template(template.subject, context).strip()

    name = NAMES[language]
    assert name in body
    assert name in subject
    assert "2026-0042" in subject
    for text in (body, subject):
        assert "{{" not in text and "}}" not in text
        assert "{%" not in text and "%}" not in text
    assert "\n" not in subject
    assert len(subject) <= 300
    # Paragraphs are separated by exactly one empty line, and none is left empty.
    assert "\n\n\n" not in body
    assert not re.search(r"\n[ \t]+\n", body)
    # No punctuation left dangling where an optional field was empty.
    assert not re.search(r" [,.]|,,|\(\s*\)", body)
    paragraphs = body.split("\n\n")
    assert len(paragraphs) >= 5
    words = len(body.split())
    if template.kind == LetterTemplate.Kind.CONFIRMATION:
        # A confirmation may be shown to any authority: it names no grounds and tells no story.
        assert SUMMARY not in body
        assert not any(g in body for g in GROUNDS[language])
    elif minimal:
        assert SUMMARY not in body
    else:
        assert SUMMARY in body
        assert all(g in body for g in GROUNDS[language])
    if not minimal:
        assert 180 <= words <= 500, words


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", [p for p in TEMPLATE_FILES if p.name.endswith(".fr.txt")], ids=_file_id
)
def test_french_templates_write_the_birth_date_in_french(path):
    template = _template_for(path)
    with translation.override("fr"):
        body = render_template(template.body, fake_context("fr"))
    assert "14 mars 1990" in body
    assert any(month in body for month in FRENCH_MONTHS)
    assert "March" not in body


@pytest.mark.django_db
def test_russian_dates_are_in_the_genitive():
    template = _template_for(migration.TEMPLATES_DIR / "support.ru.txt")
    with translation.override("ru"):
        body = render_template(template.body, fake_context("ru"))
    assert "14 марта 1990 года рождения" in body
    assert "с октября 2025 года" in body


def test_templates_use_only_known_variables():
    used = set()
    for path in TEMPLATE_FILES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"{{\s*([a-z_]+\.[a-z_]+)", text))
    assert used <= set(VARIABLES)


def test_paragraphs_are_not_hard_wrapped():
    """The print layout turns a single newline into a line break, so a paragraph is one line."""
    for path in TEMPLATE_FILES:
        body = migration.parse_template_file(path)["body"]
        for paragraph in body.split("\n\n"):
            assert "\n" not in paragraph.strip("\n"), (path.name, paragraph[:60])


def test_the_parser_is_forgiving_about_format_but_not_about_content(tmp_path):
    good = tmp_path / "sample.en.txt"
    good.write_bytes(
        "\ufeffname: Sample\r\nKIND: Support\r\nFor:\r\nSubject:  Hello {{ client.full_name }} \r\n"
        "\r\nDear Sir or Madam,\r\n\r\nText.\r\n\r\n".encode()
    )
    fields = migration.parse_template_file(good)
    assert fields == {
        "name": "Sample",
        "kind": "support",
        "language": "en",
        "authority_kind": "",
        "subject": "Hello {{ client.full_name }}",
        "body": "Dear Sir or Madam,\n\nText.",
    }

    no_blank_line = tmp_path / "sample2.fr.txt"
    no_blank_line.write_text("Name: X\nKind: urgent\nMadame, Monsieur,\n\nTexte.", "utf-8")
    assert migration.parse_template_file(no_blank_line)["body"] == "Madame, Monsieur,\n\nTexte."

    for filename, text in [
        ("bad-kind.en.txt", "Name: X\nKind: poem\n\nBody"),
        ("bad-for.en.txt", "Name: X\nKind: support\nFor: embassy\n\nBody"),
        ("no-name.en.txt", "Kind: support\n\nBody"),
        ("empty.en.txt", "Name: X\nKind: support\n\n"),
        ("bad-language.xx.txt", "Name: X\nKind: support\n\nBody"),
        ("nolanguage.txt", "Name: X\nKind: support\n\nBody"),
    ]:
        path = tmp_path / filename
        path.write_text(text, "utf-8")
        with pytest.raises(ValueError):
            migration.parse_template_file(path)
