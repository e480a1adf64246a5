"""Checks before a letter is issued: what would embarrass the signer in front of an officer.

Each problem names the place (subject, text paragraph n, facts paragraph n) and quotes a few
words around it, so that the caseworker finds it at once. Issuing refuses a letter with any
problem; the letter page shows them before it gets that far.
"""

import re

from django.utils.translation import gettext as _

from casework.models import CaseReference
from letters.context import FACTS_MARKER, MARKERS
from letters.models import Letter

CYRILLIC = re.compile(r"[\u0400-\u04ff]+")
# Template syntax that was not filled in, and the usual "fill me in" marks of drafts.
LEFTOVER = re.compile(
    r"\{\{|\}\}|\{%|%\}|⟦[^⟧]*⟧|\[\[|\]\]|\bXXX+\b|_{3,}|\bTODO\b|\[…\]|\[\.\.\.\]"
)


def _places(letter: Letter) -> list[tuple[str, str]]:
    places = [(_("subject line"), letter.subject)]
    for number, paragraph in enumerate(_paragraphs(letter.body), start=1):
        if paragraph != FACTS_MARKER:
            places.append((_("text, paragraph %(n)s") % {"n": number}, paragraph))
    for number, paragraph in enumerate(_paragraphs(letter.facts), start=1):
        places.append((_("facts, paragraph %(n)s") % {"n": number}, paragraph))
    return places


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _quote(text: str, start: int, end: int) -> str:
    before = text[max(0, start - 25) : start].split(" ", 1)[-1] if start > 25 else text[:start]
    return f"“…{before}{text[start:end]}{text[end : end + 25]}…”"


def letter_problems(letter: Letter) -> list[str]:
    """What stops this letter from being issued, as sentences for the caseworker."""
    problems = []
    if letter.language != "ru":
        for place, text in _places(letter):
            match = CYRILLIC.search(text)
            if match:
                problems.append(
                    _("Cyrillic text in a letter in %(language)s (%(place)s): %(quote)s")
                    % {
                        "language": letter.language_name,
                        "place": place,
                        "quote": _quote(text, match.start(), match.end()),
                    }
                )
    for place, text in _places(letter):
        for match in LEFTOVER.finditer(text):
            if match.group() in MARKERS and not place.startswith(_("facts")):
                continue  # markers are filled in when the letter is printed
            problems.append(
                _("Something was left to fill in (%(place)s): %(quote)s")
                % {"place": place, "quote": _quote(text, match.start(), match.end())}
            )
            break
    if FACTS_MARKER in _paragraphs(letter.body) and not letter.facts.strip():
        problems.append(_("The facts are empty: write them for this letter, in its language."))
    template = letter.template_version.template
    if template.requires:
        present = {reference.kind for reference in letter.case.references.all()}
        labels = dict(CaseReference.Kind.choices)
        for kind in template.requires:
            if kind not in present:
                problems.append(
                    _("This letter needs the case's %(reference)s: add it on the case page.")
                    % {"reference": labels.get(kind, kind)}
                )
    identities = letter.case.organisation.identities.all()
    if not any(identity.language == letter.language for identity in identities):
        problems.append(
            _(
                "The organisation has no name and address in %(language)s for letters: an "
                "administrator adds them (Organisation identities for letters)."
            )
            % {"language": letter.language_name}
        )
    return problems
