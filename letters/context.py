"""The only data a letter template ever sees: plain values, in the letter's language."""

from django.utils import timezone, translation

from casework.models import ClientName
from casework.names import transliterate
from letters.models import Letter

GROUND_LABELS = {
    "en": {
        "political": "political opinion",
        "religion": "religion",
        "ethnicity": "ethnicity",
        "sogi": "sexual orientation and gender identity",
        "military": "refusal to perform military service",
        "business": "persecution of business activity",
        "other": "other grounds",
    },
    "fr": {
        "political": "opinions politiques",
        "religion": "religion",
        "ethnicity": "origine ethnique",
        "sogi": "orientation sexuelle et identité de genre",
        "military": "refus d'effectuer le service militaire",
        "business": "persécution de l'activité économique",
        "other": "autres motifs",
    },
    "de": {
        "political": "politische Überzeugung",
        "religion": "Religion",
        "ethnicity": "ethnische Zugehörigkeit",
        "sogi": "sexuelle Orientierung und Geschlechtsidentität",
        "military": "Verweigerung des Militärdienstes",
        "business": "Verfolgung wegen unternehmerischer Tätigkeit",
        "other": "sonstige Gründe",
    },
    "ru": {
        "political": "политические убеждения",
        "religion": "религиозные убеждения",
        "ethnicity": "этническая принадлежность",
        "sogi": "сексуальная ориентация и гендерная идентичность",
        "military": "отказ от военной службы",
        "business": "преследование за предпринимательскую деятельность",
        "other": "иные основания",
    },
}


def client_name_for(names: list[ClientName], language: str) -> ClientName | None:
    """The spelling of the client's name that suits the letter's alphabet."""
    want = "cyrl" if language == "ru" else "latn"
    matching = [n for n in names if n.script == want]
    if matching:
        preferred = [n for n in matching if n.kind in (ClientName.Kind.LEGAL, "translit")]
        return (preferred or matching)[0]
    if names and want == "latn":
        source = names[0]
        return ClientName(
            family_name=transliterate(source.family_name).title(),
            given_names=transliterate(source.given_names).title(),
            patronymic="",
            script="latn",
        )
    return names[0] if names else None


def _full_name(name: ClientName, *, latin: bool) -> str:
    # Russian documents put the family name first; letters in Latin script use the given name
    # first, as the receiving authorities do.
    if latin:
        return " ".join(p for p in (name.given_names, name.family_name) if p)
    return name.full_name


def _in_script(text: str, *, latin: bool) -> str:
    if latin and any("а" <= c.lower() <= "я" or c.lower() == "ё" for c in text):
        return transliterate(text).title()
    return text


def letter_context(
    *, case, authority, language, signer_name="", signer_title="", date=None
) -> dict:
    client = case.client
    organisation = case.organisation
    name = client_name_for(list(client.names.all()), language)
    latin = language != "ru"
    with translation.override(language):
        citizenship = ", ".join(str(c.name) for c in client.citizenships)
        destination = str(case.destination_country.name) if case.destination_country else ""
    labels = GROUND_LABELS.get(language, GROUND_LABELS["en"])
    return {
        "organisation": {
            "name": organisation.name,
            "address": organisation.address,
            "email": organisation.email,
            "phone": organisation.phone,
        },
        "client": {
            "full_name": _full_name(name, latin=latin) if name else client.pseudonym,
            "family_name": name.family_name if name else "",
            "given_names": name.given_names if name else "",
            "birth_date": client.birth_date,
            "birth_place": _in_script(client.birth_place, latin=latin),
            "citizenship": citizenship,
        },
        "case": {
            "reference": case.reference,
            "opened_on": case.opened_at,
            "grounds": [labels.get(g.code, g.code) for g in case.grounds.all()],
            "summary": case.summary,
            "destination": destination,
        },
        "authority": {
            "name": authority.name,
            "short_name": authority.short_name,
            "address": authority.address,
        },
        "letter": {
            "date": date or timezone.localdate(),
            "signer_name": signer_name,
            "signer_title": signer_title,
        },
    }


def context_for_letter(letter: Letter) -> dict:
    return letter_context(
        case=letter.case,
        authority=letter.authority,
        language=letter.language,
        signer_name=letter.signer_name,
        signer_title=letter.signer_title,
        date=timezone.localdate(letter.issued_at) if letter.issued_at else None,
    )
