"""Shipped defaults for every organisation: deadline rules and procedure checklists.

For fictional use: each rule names its legal source and the day it was checked, and every one
says "confirm with your lawyers". Administrators correct them or add their own in the admin;
the loader, used by a data migration (with its historical models), never changes a row that
already exists. Names are in English and in the translation catalogue (gettext_noop), so that
the interface shows them in its own language; an administrator's own names are shown as they
are written.
"""

from datetime import date

from django.utils.translation import gettext_noop

CHECKED_ON = date(2026, 12, 3)
CONFIRM = gettext_noop("Fictional-use default: confirm with your lawyers before relying on it.")

DEADLINE_RULES = [
    {
        "name": gettext_noop("CNDA appeal"),
        "event_kind": "decision",
        "country": "FR",
        "authority_kind": "asylum_office",
        "period": 1,
        "unit": "months",
        "starts_from": "notification",
        "next_working_day": True,
        "source": "CESEDA art. L532-1; CPC art. 640–642",
        "note": "Recours devant la CNDA dans le délai d'un mois à compter de la notification de "
        "la décision de l'OFPRA (art. L532-1 CESEDA). Le délai qui expirerait un samedi, un "
        "dimanche ou un jour férié est prorogé au premier jour ouvrable suivant (art. 642 "
        "CPC). A request for legal aid may change the time limit. " + CONFIRM,
    },
    {
        "name": gettext_noop("Action at the Verwaltungsgericht"),
        "event_kind": "decision",
        "country": "DE",
        "authority_kind": "asylum_office",
        "period": 14,
        "unit": "days",
        "starts_from": "service",
        "next_working_day": True,
        "source": "§ 74 Abs. 1 Hs. 1 AsylG; § 57 Abs. 2 VwGO, § 222 ZPO, §§ 187, 188, 193 BGB",
        "note": "Klage innerhalb von zwei Wochen nach Zustellung der Entscheidung des BAMF. "
        "Public holidays are those of the whole country: for a Land's own holidays, copy the "
        "rule with the court's region. " + CONFIRM,
    },
    {
        "name": gettext_noop("Action at the Verwaltungsgericht (manifestly unfounded)"),
        "event_kind": "decision",
        "country": "DE",
        "authority_kind": "asylum_office",
        "outcome": "manifestly_unfounded",
        "period": 7,
        "unit": "days",
        "starts_from": "service",
        "next_working_day": True,
        "source": "§ 74 Abs. 1 Hs. 2 mit § 36 Abs. 3 Satz 1 AsylG; § 222 ZPO, § 193 BGB",
        "note": "Bei Ablehnung als offensichtlich unbegründet: Klage und Antrag nach § 80 Abs. 5 "
        "VwGO innerhalb einer Woche nach Bekanntgabe. " + CONFIRM,
    },
    {
        "name": gettext_noop("One-year asylum filing deadline"),
        "event_kind": "arrival",
        "country": "US",
        "period": 12,
        "unit": "months",
        "starts_from": "arrival",
        "deadline_kind": "submission",
        "next_working_day": True,
        "source": "INA § 208(a)(2)(B); 8 CFR 208.4(a)(2)(ii)",
        "note": "Form I-589 within one year of the last arrival in the United States; a last "
        "day on a Saturday, Sunday or legal holiday runs to the next such day that is not. "
        "Exceptions for changed or extraordinary circumstances (INA § 208(a)(2)(D)). " + CONFIRM,
    },
    {
        "name": gettext_noop("Appeal to the Board of Immigration Appeals"),
        "event_kind": "decision",
        "country": "US",
        "authority_kind": "immigration_court",
        "period": 30,
        "unit": "days",
        "starts_from": "decision",
        "next_working_day": True,
        "source": "8 CFR 1003.38(b)",
        "note": "Notice of Appeal (Form EOIR-26) received by the BIA within 30 calendar days of "
        "the oral decision or of the mailing or electronic notification of the written "
        "decision; extended to the next business day when the last day is a Saturday, Sunday "
        "or legal holiday. " + CONFIRM,
    },
    {
        "name": gettext_noop("Appeal to the First-tier Tribunal"),
        "event_kind": "decision",
        "country": "GB",
        "subdivision": "ENG",
        "authority_kind": "asylum_office",
        "period": 14,
        "unit": "days",
        "starts_from": "decision",
        "next_working_day": True,
        "source": "Tribunal Procedure (First-tier Tribunal) (Immigration and Asylum Chamber) "
        "Rules 2014, r. 19(2), r. 11",
        "note": "Appellant in the UK: notice of appeal received no later than 14 days after the "
        "notice of decision was sent (28 days from outside the UK, r. 19(3)). Bank holidays of "
        "England and Wales. " + CONFIRM,
    },
]

# Each procedure: its checklist as (name shown to staff, as letters list it, note).
PROCEDURES = [
    {
        "name": gettext_noop("OFPRA asylum claim"),
        "country": "FR",
        "language": "fr",
        "note": CONFIRM,
        "items": [
            (
                gettext_noop("Asylum claim certificate"),
                "Copie de l'attestation de demande d'asile",
                "",
            ),
            (
                gettext_noop("OFPRA application form, signed"),
                "",
                gettext_noop("Filled in and signed in French."),
            ),
            (gettext_noop("Passport or identity document"), "Copie du passeport", ""),
            (gettext_noop("Two identity photos"), "", ""),
            (
                gettext_noop("Evidence of persecution, translated"),
                "Pièces justificatives traduites en français",
                gettext_noop("Summonses, court papers, medical certificates, press articles."),
            ),
            (gettext_noop("Letter of support"), "Lettre de soutien", ""),
        ],
    },
    {
        "name": gettext_noop("CNDA appeal"),
        "country": "FR",
        "language": "fr",
        "note": CONFIRM,
        "items": [
            (gettext_noop("OFPRA decision"), "Copie de la décision de l'OFPRA", ""),
            (
                gettext_noop("Proof of the date of notification"),
                "Preuve de la date de notification",
                gettext_noop(
                    "The envelope or the acknowledgement of receipt: the time limit runs from it."
                ),
            ),
            (gettext_noop("Legal aid request"), "Demande d'aide juridictionnelle", ""),
            (
                gettext_noop("New evidence, translated"),
                "Pièces nouvelles traduites en français",
                "",
            ),
        ],
    },
    {
        "name": gettext_noop("BAMF hearing"),
        "country": "DE",
        "language": "de",
        "note": CONFIRM,
        "items": [
            (
                gettext_noop("Residence permit for asylum seekers"),
                "Kopie der Aufenthaltsgestattung",
                "",
            ),
            (gettext_noop("Passport or identity document"), "Kopie des Reisepasses", ""),
            (
                gettext_noop("Medical certificate"),
                "Ärztliche Bescheinigung",
                gettext_noop(
                    "A qualified medical certificate (§ 60a Abs. 2c AufenthG) where health matters."
                ),
            ),
            (
                gettext_noop("Evidence of persecution, translated"),
                "Beweismittel mit Übersetzung",
                "",
            ),
            (gettext_noop("Letter of support"), "Unterstützungsschreiben", ""),
        ],
    },
    {
        "name": gettext_noop("USCIS Form I-589 filing"),
        "country": "US",
        "language": "en",
        "note": CONFIRM,
        "items": [
            (
                gettext_noop("Form I-589, signed"),
                "Form I-589, Application for Asylum and for Withholding of Removal",
                "",
            ),
            (gettext_noop("Passport-style photo"), "Passport-style photograph", ""),
            (gettext_noop("Passport and Form I-94"), "Copy of passport and Form I-94", ""),
            (gettext_noop("Applicant's declaration"), "Declaration of the applicant", ""),
            (gettext_noop("Country conditions evidence"), "Country conditions evidence", ""),
            (
                gettext_noop("Certified translations"),
                "Certified English translations",
                gettext_noop("Every document not in English, with the translator's certificate."),
            ),
        ],
    },
]


def load_defaults(deadline_rule_model, procedure_model, item_model) -> None:
    """Create the shipped rules and procedures that do not exist yet (by name and country)."""
    for rule in DEADLINE_RULES:
        fields = {"checked_on": CHECKED_ON, **rule}
        deadline_rule_model.objects.get_or_create(
            organisation=None, name=rule["name"], country=rule["country"], defaults=fields
        )
    for spec in PROCEDURES:
        procedure, created = procedure_model.objects.get_or_create(
            organisation=None,
            name=spec["name"],
            country=spec["country"],
            defaults={"language": spec["language"], "note": spec["note"]},
        )
        if created:
            for position, (name, enclosure, note) in enumerate(spec["items"]):
                item_model.objects.create(
                    procedure=procedure,
                    position=position,
                    name=name,
                    enclosure=enclosure,
                    note=note,
                )
