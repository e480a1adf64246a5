"""The only data a letter template ever sees: plain strings and short lists, already written in
the letter's language and in the addressee's country's style (letters.formatting). Nothing
internal reaches a letter: not the case summary, not the notes, not the Cyrillic name in a
Latin-script letter."""

from dataclasses import dataclass

from django.utils import timezone, translation

from casework.models import Authority, Case, CaseReference, ClientName
from casework.names import icao_9303
from letters import formatting
from letters.models import OrganisationIdentity

# What a draft cannot know yet stays in its text as a marker, filled in when the letter is
# printed (letters.rendering.fill_markers): the facts, which the caseworker writes in their own
# field (a template puts `{{ facts }}` alone on its paragraph), and the signer, chosen at approval.
FACTS_MARKER = "⟦facts⟧"
SIGNER_NAME_MARKER = "⟦signer⟧"
SIGNER_TITLE_MARKER = "⟦signer-title⟧"
# The documents enclosed, from the case's checklists ("P.J.", "Anlagen", "Enclosures"): a
# template puts `{{ enclosures }}` alone on its paragraph, at the end; it is printed below the
# signature, and left out when the case has nothing to enclose.
ENCLOSURES_MARKER = "⟦enclosures⟧"
MARKERS = (FACTS_MARKER, SIGNER_NAME_MARKER, SIGNER_TITLE_MARKER, ENCLOSURES_MARKER)


@dataclass
class Name:
    family: str
    given: str
    patronymic: str = ""


def letter_name(case: Case, names: list[ClientName], language: str) -> Name | None:
    """The client's name as this letter writes it: in Cyrillic for Russian letters; otherwise
    the Latin spelling chosen on the case (the passport's, or the authority's), else a Latin
    legal name or transliteration on file, else the ICAO 9303 transliteration (as in Russian
    passports) of the legal name. Never re-capitalised: "Rostov-na-Donu", not "Rostov-Na-Donu"."""
    if not names:
        return None
    legal = next((n for n in names if n.kind == ClientName.Kind.LEGAL), names[0])
    if language == "ru":
        cyrillic = next((n for n in names if n.script == "cyrl" and n.kind == legal.kind), legal)
        return Name(cyrillic.family_name, cyrillic.given_names, cyrillic.patronymic)
    chosen = next((n for n in names if n.pk and n.pk == case.letter_name_id), None)
    if chosen is None:
        latin = [n for n in names if n.script == "latn"]
        kinds = (ClientName.Kind.LEGAL, ClientName.Kind.TRANSLITERATION)
        preferred = [n for n in latin if n.kind in kinds]
        chosen = next(iter(preferred or latin), None)
    if chosen is not None:
        return Name(chosen.family_name, chosen.given_names)
    return Name(icao_9303(legal.family_name), icao_9303(legal.given_names))


def _full_name(name: Name, language: str) -> str:
    # Russian letters put the family name first with the patronymic, as Russian documents do;
    # Latin-script letters give the given names first, as the receiving authorities do.
    if language == "ru":
        return " ".join(p for p in (name.family, name.given, name.patronymic) if p)
    return " ".join(p for p in (name.given, name.family) if p)


def _identity(name: Name, language: str) -> str:
    """The name for identity lines: the family name marked in capitals, then the others."""
    rest = (name.given, name.patronymic) if language == "ru" else (name.given,)
    return " ".join(p for p in (name.family.upper(), *rest) if p)


REFERENCE_FIELDS = (
    "ofpra",
    "cnda",
    "ofpra_decision_date",
    "bamf",
    "vg",
    "vg_court",
    "a_number",
    "uscis_receipt",
    "eoir_court",
    "eoir_judge",
    "eoir_judge_surname",
    "eoir_hearing",
    "home_office",
    "unhcr",
)


def references(refs: list[CaseReference], language: str, country: str) -> dict[str, str]:
    """The case's references by their template names (`refs.ofpra`…), "" when absent."""
    values = dict.fromkeys(REFERENCE_FIELDS, "")
    for ref in refs:
        kind = ref.kind
        if kind in ("ofpra", "bamf", "vg", "a_number", "uscis_receipt", "home_office", "unhcr"):
            values[kind] = ref.value
        if kind == "cnda":
            values["cnda"] = ref.value
            values["ofpra_decision_date"] = formatting.format_date(ref.date, language, country)
        elif kind == "vg":
            values["vg_court"] = ref.court
        elif kind == "eoir":
            values["eoir_court"] = ref.court
            values["eoir_judge"] = ref.judge
            # "Dear Judge Whitcomb:", as US courts are addressed (titles such as "Hon." dropped).
            values["eoir_judge_surname"] = ref.judge.split()[-1] if ref.judge.strip() else ""
            values["eoir_hearing"] = formatting.format_date(ref.date, language, country)
            if ref.value and not values["a_number"]:
                values["a_number"] = ref.value
    return values


def organisation_identity(case: Case, language: str) -> OrganisationIdentity | None:
    """The organisation's identity in this language (from a prefetch when there is one)."""
    identities = case.organisation.identities.all()
    return next((i for i in identities if i.language == language), None)


def letter_context(*, case: Case, authority: Authority, language: str, date=None) -> dict:
    client = case.client
    # A CountryField gives a Country (a list of them when multiple); django-stubs types it as the
    # CharField it extends.
    country = authority.country.code if authority.country else ""  # type: ignore[attr-defined]
    name = letter_name(case, list(client.names.all()), language)
    identity = organisation_identity(case, language)
    with translation.override(language):
        citizenship = ", ".join(
            formatting.nationality(c.code, language, str(c.name))  # type: ignore[attr-defined]
            for c in client.citizenships
        )
        destination = (
            str(case.destination_country.name)  # type: ignore[attr-defined]
            if case.destination_country
            else ""
        )
    refs = references(list(case.references.all()), language, country)
    return {
        "organisation": {
            "name": identity.name if identity else "",
            "legal_form": identity.legal_form if identity else "",
            "registration": identity.registration if identity else "",
            "address": identity.address if identity else "",
            "website": identity.website if identity else "",
            "email": identity.email if identity else "",
            "phone": identity.phone if identity else "",
        },
        "signer": {"name": SIGNER_NAME_MARKER, "title": SIGNER_TITLE_MARKER},
        "client": {
            "full_name": _full_name(name, language) if name else client.pseudonym,
            "identity": _identity(name, language) if name else client.pseudonym,
            "family_name": name.family if name else "",
            "given_names": name.given if name else "",
            "gender": client.gender,
            "title": formatting.title(client.gender, language),
            "birth_date": formatting.format_date(client.birth_date, language, country),
            "birth_place": formatting.birth_place(
                client.birth_place, client.birth_place_latin, language, icao_9303
            ),
            "citizenship": citizenship,
        },
        "case": {
            "reference": case.reference,
            "opened_on": formatting.format_month(case.opened_at, language),
            "grounds": formatting.grounds([g.code for g in case.grounds.all()], language, country),
            "destination": destination,
        },
        "facts": FACTS_MARKER,
        "enclosures": ENCLOSURES_MARKER,
        "refs": refs,
        "authority": {
            "name": authority.name,
            "short_name": authority.short_name,
            "address": authority.address,
        },
        "letter": {
            "date": formatting.format_date(date or timezone.localdate(), language, country),
        },
    }
