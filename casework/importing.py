"""What the rows of an NGO's client sheet mean: which column is which (headers in Russian or
English are recognised), what each row would create — a client with their names and contact
channels, and a case — or what is wrong with it, and which rows are likely duplicates, of
another row of the file or of a client the organisation already has.

Nothing here writes. `services.spreadsheet_import_run` creates what a plan says through the
services that do it by hand: `case_open` (names indexed for search, every field encrypted),
`event_add` (the decision and the arrival, with the deadlines their rules compute) and
`case_procedure_add` (the procedure's checklist).
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import date as datetime_date  # a name EventPlan.date does not shadow
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from casework import deadlines, selectors
from casework.models import (
    Authority,
    Case,
    Client,
    ClientName,
    ContactChannel,
    DeadlineRule,
    Event,
    Ground,
    Organisation,
    Procedure,
    SpreadsheetImport,
)
from casework.names import skeleton
from core.spreadsheets import Cell, Sheet, cell_text, read_sheet
from core.users import User


@dataclass(frozen=True)
class ImportField:
    key: str
    label: Promise
    aliases: tuple[str, ...] = ()


# The columns Pristan can read, with the headers it recognises (besides the labels themselves,
# in Russian and English). Case and spaces do not matter, nor ё/е, dots or brackets.
FIELDS = (
    ImportField(
        "full_name",
        gettext_lazy("Full name (family name, given names, patronymic)"),
        ("ФИО", "Ф.И.О.", "Full name", "Name", "Client", "Клиент", "Фамилия Имя Отчество"),
    ),
    ImportField("family_name", gettext_lazy("Family name"), ("Фамилия", "Surname", "Last name")),
    ImportField("given_names", gettext_lazy("Given names"), ("Имя", "First name", "Given name")),
    ImportField("patronymic", gettext_lazy("Patronymic"), ("Отчество", "Middle name")),
    ImportField(
        "latin_name",
        gettext_lazy("Name in Latin letters"),
        (
            "ФИО латиницей",
            "Имя латиницей",
            "Латиница",
            "Name in Latin",
            "Latin name",
            "Latin spelling",
            "Transliteration",
            "Транслитерация",
            "Имя в загранпаспорте",
            "Passport name",
        ),
    ),  # fmt: skip
    ImportField("pseudonym", gettext_lazy("Pseudonym"), ("Псевдоним", "Alias", "Code name")),
    ImportField(
        "birth_date",
        gettext_lazy("Date of birth"),
        ("Дата рождения", "Д.р.", "ДР", "Д/р", "DOB", "Birth date", "Born", "Date of birth"),
    ),
    ImportField("birth_place", gettext_lazy("Place of birth"), ("Место рождения", "Birthplace")),
    ImportField("gender", gettext_lazy("Gender"), ("Пол", "Sex", "Gender")),
    ImportField(
        "citizenship",
        gettext_lazy("Citizenship"),
        ("Гражданство", "Nationality", "Citizenships", "Гражданства"),
    ),
    ImportField("languages", gettext_lazy("Languages"), ("Языки", "Язык", "Language")),
    ImportField(
        "current_country",
        gettext_lazy("Current country"),
        ("Страна пребывания", "Страна проживания", "Где сейчас", "Country of residence"),
    ),
    ImportField(
        "current_city", gettext_lazy("Current city"), ("Город", "Город пребывания", "City")
    ),
    ImportField("phone", gettext_lazy("Phone"), ("Телефон", "Тел.", "Telephone", "Mobile")),
    ImportField("email", gettext_lazy("Email"), ("E-mail", "Эл. почта", "Электронная почта")),
    ImportField("telegram", gettext_lazy("Telegram"), ("Телеграм", "Телеграмм")),
    ImportField("signal", gettext_lazy("Signal"), ("Сигнал",)),
    ImportField(
        "kind", gettext_lazy("Kind of case"), ("Вид дела", "Тип дела", "Case kind", "Case type")
    ),
    ImportField(
        "destination_country",
        gettext_lazy("Destination country"),
        ("Страна назначения", "Куда", "Destination", "Country of destination", "Страна убежища"),
    ),
    ImportField("authority", gettext_lazy("Authority"), ("Орган", "Адресат", "Addressee")),
    ImportField("grounds", gettext_lazy("Grounds"), ("Основания", "Основание", "Ground")),
    ImportField("status", gettext_lazy("Status"), ("Статус", "Стадия")),
    ImportField("risk", gettext_lazy("Risk level"), ("Риск", "Уровень риска", "Risk")),
    ImportField(
        "opened_at",
        gettext_lazy("Opened on"),
        ("Дата обращения", "Дата открытия", "Opened", "Date opened", "Intake date"),
    ),
    ImportField(
        "summary",
        gettext_lazy("Summary"),
        ("Описание", "Суть", "Суть дела", "Комментарий", "Примечание", "Notes", "Comment"),
    ),
    ImportField(
        "arrival_date",
        gettext_lazy("Arrival date"),
        (
            "Дата прибытия",
            "Дата въезда",
            "Дата прибытия/въезда",
            "Прибытие",
            "Въезд",
            "Arrival",
            "Date of arrival",
            "Entry date",
            "Date of entry",
        ),
    ),  # fmt: skip
    ImportField(
        "procedure",
        gettext_lazy("Procedure"),
        ("Процедура", "Процедура (чек-лист)", "Procedure", "Чек-лист", "Checklist"),
    ),
    ImportField(
        "decision_date",
        gettext_lazy("Decision date"),
        (
            "Дата решения",
            "Решение от",
            "Дата уведомления",
            "Дата вручения",
            "Date of decision",
            "Decision date",
            "Decision received",
            "Notified on",
        ),
    ),  # fmt: skip
    ImportField(
        "decision_outcome",
        gettext_lazy("Decision"),
        ("Решение", "Результат", "Итог", "Outcome", "Decision outcome", "Result"),
    ),
    ImportField(
        "assignee",
        gettext_lazy("Assigned to"),
        ("Ответственный", "Куратор", "Сотрудник", "Assignee", "Caseworker"),
    ),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
NAME_KEYS = ("full_name", "family_name", "latin_name")
IGNORE = ""


def normalise(text: str) -> str:
    """A header or a value as it is compared: lower case, ё as е, letters and digits only."""
    text = text.casefold().replace("ё", "е")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _labels(value: str | Promise) -> list[str]:
    """A translatable label in both interface languages."""
    out = []
    for language in ("en", "ru"):
        with translation.override(language):
            out.append(str(value))
    return out


def _translations(text: str) -> list[str]:
    """A name kept in English in the database (a shipped default) in both interface languages;
    an administrator's own name is the same in both."""
    out = []
    for language in ("en", "ru"):
        with translation.override(language):
            out.append(_(text))
    return out


def recognise(headers: list[str]) -> dict[int, str]:
    """Column index → field key for the headers Pristan knows; each field once (the first
    column that names it wins)."""
    known: dict[str, str] = {}
    for item in FIELDS:
        for alias in (*item.aliases, *_labels(item.label)):
            known.setdefault(normalise(alias), item.key)
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        key = known.get(normalise(header))
        if key and key not in mapping.values():
            mapping[index] = key
    return mapping


def mapping_errors(mapping: dict[int, str]) -> list[str]:
    errors = []
    keys = [k for k in mapping.values() if k]
    if not any(k in keys for k in NAME_KEYS):
        errors.append(
            _("Choose the column with the client's name (full name, family name or Latin name).")
        )
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    for key in repeated:
        errors.append(
            _("“%(field)s” is chosen for more than one column: choose it once.")
            % {"field": FIELD_BY_KEY[key].label}
        )
    return errors


# --- reading one row ----------------------------------------------------------------------------

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_PATRONYMIC = re.compile(r"(вич|вна|ична|инична|ич|оглы|кызы|vich|vna|ichna)$", re.IGNORECASE)
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y.%m.%d")
_LIST_SEPARATORS = re.compile(r"\s*[,;/]\s*")

_COUNTRY_ALIASES = {
    "рф": "RU", "российская федерация": "RU", "russian federation": "RU", "russland": "RU",
    "сша": "US", "usa": "US", "соединенные штаты": "US", "united states": "US",
    "uk": "GB", "англия": "GB", "great britain": "GB", "britain": "GB",
    "белоруссия": "BY", "беларусь": "BY", "кыргызстан": "KG", "kyrgyzstan": "KG",
    "молдова": "MD", "молдавия": "MD", "германия": "DE", "deutschland": "DE",
}  # fmt: skip
_GENDERS = {
    "м": "m", "муж": "m", "мужской": "m", "мужчина": "m", "m": "m", "male": "m", "man": "m",
    "ж": "f", "жен": "f", "женский": "f", "женщина": "f", "f": "f", "w": "f", "female": "f",
    "woman": "f", "x": "x", "другое": "x", "небинарный": "x", "non binary": "x", "nb": "x",
}  # fmt: skip
_GROUND_ALIASES = {
    "лгбт": "sogi", "lgbt": "sogi", "lgbtq": "sogi", "лгбт+": "sogi", "политика": "political",
    "политические взгляды": "political", "politics": "political", "религия": "religion",
    "мобилизация": "military", "дезертирство": "military", "уклонение от мобилизации": "military",
    "бизнес": "business", "этническая принадлежность": "ethnicity", "национальность": "ethnicity",
}  # fmt: skip

_STATUS_ALIASES = {
    "новое": "intake", "новый": "intake", "прием": "intake", "активно": "active",
    "активное": "active", "активен": "active", "апелляция": "appeal", "закрыт": "closed",
    "одобрено": "granted", "убежище получено": "granted", "отказано": "refused",
}  # fmt: skip
_KIND_ALIASES = {
    "письмо": "support_letter", "убежище": "asylum_claim", "апелляция": "appeal",
    "эвакуация": "relocation", "юридическая": "legal_aid", "юрпомощь": "legal_aid",
}  # fmt: skip

# What NGO sheets write in the "decision" column; the outcome's own labels (both languages) and
# codes are recognised too.
_OUTCOME_ALIASES = {
    "отказ": "refused", "отказано": "refused", "отрицательное": "refused",
    "отрицательно": "refused", "негатив": "refused", "rejected": "refused",
    "refusal": "refused", "negative": "refused", "denied": "refused", "abgelehnt": "refused",
    "rejet": "refused", "ablehnung": "refused",
    "явно необоснованно": "manifestly_unfounded", "явно необоснованное": "manifestly_unfounded",
    "отказ как явно необоснованное": "manifestly_unfounded",
    "отказ явно необоснованно": "manifestly_unfounded",
    "rejected as manifestly unfounded": "manifestly_unfounded",
    "manifestly unfounded": "manifestly_unfounded",
    "offensichtlich unbegrundet": "manifestly_unfounded",
    "offensichtlich unbegründet": "manifestly_unfounded",
    "одобрено": "granted", "положительное": "granted", "положительно": "granted",
    "позитив": "granted", "предоставлено": "granted", "убежище предоставлено": "granted",
    "статус беженца": "granted", "approved": "granted", "positive": "granted",
    "accordé": "granted", "anerkannt": "granted",
}  # fmt: skip


def _choice_lookup(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, label in choices:
        table[normalise(value)] = value
        for text in _labels(label):
            table[normalise(text)] = value
    return table


class Lookups:
    """The organisation's reference data, loaded once per sheet: countries (English and Russian
    names, ISO codes, common short forms), authorities, grounds, staff, and the choices."""

    def __init__(self, *, organisation: Organisation) -> None:
        organisation_id = organisation.pk
        self.countries: dict[str, str] = {}
        for language in ("en", "ru"):
            with translation.override(language):
                for country in countries:
                    self.countries[normalise(country.name)] = country.code
        for country in list(countries):
            self.countries[normalise(country.code)] = country.code
            self.countries[normalise(countries.alpha3(country.code))] = country.code
        self.countries.update(_COUNTRY_ALIASES)
        self.authorities: dict[str, Authority] = {}
        for authority in Authority.objects.for_organisation(organisation_id):
            for text in (authority.name, authority.code, authority.short_name):
                self.authorities.setdefault(normalise(text), authority)
        grounds = {g.code: g for g in Ground.objects.all()}
        self.grounds = {
            text: grounds[code]
            for text, code in {
                **_choice_lookup(Ground.Code.choices),
                **_GROUND_ALIASES,
            }.items()
            if code in grounds
        }
        self.kinds = {**_choice_lookup(Case.Kind.choices), **_KIND_ALIASES}
        self.statuses = {**_choice_lookup(Case.Status.choices), **_STATUS_ALIASES}
        self.risks = _choice_lookup(Case.Risk.choices)
        self.genders = {**_choice_lookup(Client.Gender.choices), **_GENDERS}
        self.outcomes = {
            **_choice_lookup(Event.Outcome.choices),
            **{normalise(k): v for k, v in _OUTCOME_ALIASES.items()},
        }
        self.organisation = organisation
        self.procedures = list(
            Procedure.objects.for_organisation(organisation_id).filter(active=True)
        )
        self._procedure_names = [
            (procedure, {normalise(text) for text in _translations(procedure.name)})
            for procedure in self.procedures
        ]
        # OFPRA, CNDA, BAMF, USCIS, 589: the words of a name that sheets write alone.
        self._procedure_marks = [
            (
                procedure,
                {
                    normalise(word)
                    for word in re.split(r"[\s\-]+", procedure.name)
                    if (len(word) >= 3 and word.isupper()) or any(c.isdigit() for c in word)
                },
            )
            for procedure in self.procedures
        ]
        self._rules: dict[tuple[str, str, int | None, str], DeadlineRule | None] = {}
        self.staff: dict[str, User] = {}
        for user in selectors.assignable_users(organisation):
            for text in (
                user.username,
                user.get_full_name(),
                f"{user.last_name} {user.first_name}",
            ):
                if normalise(text):
                    self.staff.setdefault(normalise(text), user)

    def procedure(self, text: str) -> list[Procedure]:
        """The procedures a cell names: by their whole name in either language ("CNDA appeal",
        "Обжалование в CNDA"), else by the acronyms and form numbers in their names ("CNDA",
        "Апелляция CNDA", "I-589", "BAMF"), when those point to one procedure."""
        wanted = normalise(text)
        exact = [p for p, names in self._procedure_names if wanted in names]
        if exact:
            return exact[:1]
        words = set(wanted.split())
        return [p for p, marks in self._procedure_marks if marks & words]

    def rule(self, event: Event) -> DeadlineRule | None:
        """deadlines.rule_for, asked once per kind of event, country, authority and outcome of
        the sheet rather than once per row."""
        case = event.case
        key = (
            event.kind,
            str(case.destination_country or ""),
            case.authority_id,
            event.outcome,
        )
        if key not in self._rules:
            self._rules[key] = deadlines.rule_for(event)
        return self._rules[key]


@dataclass(frozen=True)
class EventPlan:
    """A dated event a row brings (the decision, the arrival) and the deadline its rule gives,
    as the preview shows it; the import records it through services.event_add, which computes
    the deadline again with the same rule."""

    kind: str
    date: date
    outcome: str = ""
    rule: DeadlineRule | None = None
    due: deadlines.Due | None = None

    def describe(self, *, today: datetime_date) -> str:
        when = formats.date_format(self.date, "DATE_FORMAT")
        if self.kind == Event.Kind.ARRIVAL:
            text = _("arrival %(date)s") % {"date": when}
        elif self.outcome:
            text = _("decision (%(outcome)s) %(date)s") % {
                "outcome": Event.Outcome(self.outcome).label.lower(),
                "date": when,
            }
        else:
            text = _("decision %(date)s") % {"date": when}
        if self.rule is None or self.due is None:
            return text + " · " + _("no deadline rule applies")
        due = formats.date_format(self.due.date, "DATE_FORMAT")
        detail = _("%(name)s by %(date)s") % {"name": _(self.rule.name), "date": due}
        if self.due.date < today:
            detail += " " + _("(already passed)")
        return text + " → " + _("deadline computed: %(detail)s") % {"detail": detail}


@dataclass
class RowPlan:
    """One data row: what it would create, or why it cannot be imported."""

    number: int
    cells: list[str]
    errors: list[str] = field(default_factory=list)
    client: dict[str, Any] = field(default_factory=dict)
    names: list[dict[str, str]] = field(default_factory=list)
    contacts: list[tuple[str, str]] = field(default_factory=list)
    case: dict[str, Any] = field(default_factory=dict)
    grounds: list[Ground] = field(default_factory=list)
    assignee: User | None = None
    events: list[EventPlan] = field(default_factory=list)
    procedure: Procedure | None = None
    duplicate_of_row: int | None = None
    existing: list[Client] = field(default_factory=list)
    warning: selectors.DuplicateWarning | None = None

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of_row is not None or bool(self.existing)

    @property
    def status(self) -> str:
        if self.errors:
            return "error"
        return "duplicate" if self.is_duplicate else "ok"

    @property
    def display_name(self) -> str:
        return "; ".join(
            " ".join(p for p in (n["family_name"], n["given_names"], n["patronymic"]) if p)
            for n in self.names
        )

    @property
    def client_summary(self) -> str:
        parts = [str(countries.name(code)) for code in self.client.get("citizenships", [])]
        if self.client.get("gender"):
            parts.append(str(Client.Gender(self.client["gender"]).label))
        return ", ".join(parts)

    @property
    def case_summary(self) -> str:
        case = self.case
        if not case:
            return ""
        parts = [str(Case.Kind(case["kind"]).label)]
        if case["destination_country"]:
            parts.append(str(countries.name(case["destination_country"])))
        if case["authority"] is not None:
            parts.append(case["authority"].short_name)
        parts.append(str(Case.Status(case["status"]).label))
        return " · ".join(parts)

    @property
    def creates(self) -> list[str]:
        """What the row brings besides the client and the case, one phrase each."""
        today = timezone.localdate()
        out = [event.describe(today=today) for event in self.events]
        if self.procedure is not None:
            out.append(_("checklist: %(procedure)s") % {"procedure": _(self.procedure.name)})
        return out

    def problems(self) -> list[str]:
        """Errors, then the duplicate notes, as the error report writes them."""
        out = list(self.errors)
        if self.duplicate_of_row is not None:
            out.append(
                _("Possibly the same person as row %(row)s.") % {"row": self.duplicate_of_row}
            )
        if self.existing:
            out.append(_("Possibly a client the organisation already has."))
        return out


@dataclass
class ImportPlan:
    headers: list[str]
    mapping: dict[int, str]
    rows: list[RowPlan]

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def unmapped(self) -> list[str]:
        return [h for i, h in enumerate(self.headers) if not self.mapping.get(i)]


def _split_name(text: str, errors: list[str]) -> list[tuple[str, list[str]]]:
    """A name cell as (script, words) groups: "Иванова Мария / Ivanova Maria" gives both."""
    words = [w for w in re.split(r"[\s,/|()]+", text) if w]
    cyrillic = [w for w in words if _CYRILLIC.search(w)]
    latin = [w for w in words if _LATIN.search(w) and not _CYRILLIC.search(w)]
    mixed = [w for w in cyrillic if _LATIN.search(w)]
    if mixed:
        errors.append(
            _(
                "“%(word)s” mixes Cyrillic and Latin letters in one word (a typing slip that "
                "breaks search): retype it in one script."
            )
            % {"word": mixed[0]}
        )
    return [(script, group) for script, group in (("cyrl", cyrillic), ("latn", latin)) if group]


def _name_parts(words: list[str]) -> tuple[str, str, str]:
    """Family name first, as Russian lists write it; a last word that looks like a patronymic
    (…вич, …вна, …оглы) is the patronymic."""
    family, rest = words[0], words[1:]
    patronymic = ""
    if len(rest) >= 2 and _PATRONYMIC.search(rest[-1]):
        patronymic = rest.pop()
    return family, " ".join(rest), patronymic


def _limit(value: str, limit: int, label: str | Promise, errors: list[str]) -> str:
    if len(value) > limit:
        errors.append(
            _("%(field)s is longer than %(limit)s characters.") % {"field": label, "limit": limit}
        )
    return value


def parse_date(value: Cell) -> date | None:
    """A date cell or a date typed as text (03.04.1990, 1990-04-03, 3/4/1990: day first)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value).removesuffix("г.").removesuffix("г").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


class _Row:
    """Reads one row's cells into a RowPlan, collecting every problem rather than the first."""

    def __init__(self, number: int, cells: list[Cell], mapping: dict[int, str], lookups: Lookups):
        self.values = {key: cells[i] if i < len(cells) else None for i, key in mapping.items()}
        self.lookups = lookups
        self.plan = RowPlan(number=number, cells=[cell_text(c) for c in cells])

    def text(self, key: str) -> str:
        return " ".join(cell_text(self.values.get(key)).split())

    def error(self, message: str) -> None:
        self.plan.errors.append(message)

    def read_date(self, key: str, *, earliest: date, latest: date) -> date | None:
        value = self.values.get(key)
        if value is None or cell_text(value) == "":
            return None
        label = FIELD_BY_KEY[key].label
        try:
            parsed = parse_date(value)
        except ValueError:
            self.error(
                _("%(field)s “%(value)s” is not a date: write it as 03.04.1990 or 1990-04-03.")
                % {"field": label, "value": cell_text(value)}
            )
            return None
        if parsed is None or not earliest <= parsed <= latest:
            self.error(
                _("%(field)s %(value)s is not between %(earliest)s and %(latest)s.")
                % {
                    "field": label,
                    "value": parsed.strftime("%d.%m.%Y") if parsed else "",
                    "earliest": earliest.strftime("%d.%m.%Y"),
                    "latest": latest.strftime("%d.%m.%Y"),
                }
            )
            return None
        return parsed

    def country(self, text: str) -> str | None:
        code = self.lookups.countries.get(normalise(text))
        if code is None:
            self.error(_("Unknown country “%(value)s”.") % {"value": text})
        return code

    def choice(self, key: str, table: dict[str, str], default: str) -> str:
        text = self.text(key)
        if not text:
            return default
        value = table.get(normalise(text))
        if value is None:
            self.error(
                _("%(field)s “%(value)s” is not one Pristan knows.")
                % {"field": FIELD_BY_KEY[key].label, "value": text}
            )
            return default
        return value

    def names(self) -> None:
        errors = self.plan.errors
        found: list[tuple[str, str, tuple[str, str, str]]] = []  # kind, script, parts
        for script, words in _split_name(self.text("full_name"), errors):
            found.append((ClientName.Kind.LEGAL, script, _name_parts(words)))
        family = self.text("family_name")
        if family:
            script = "cyrl" if _CYRILLIC.search(family) else "latn"
            parts = (family, self.text("given_names"), self.text("patronymic"))
            found.append((ClientName.Kind.LEGAL, script, parts))
        for script, words in _split_name(self.text("latin_name"), errors):
            found.append((ClientName.Kind.TRANSLITERATION, script, _name_parts(words)))
        if not found:
            self.error(_("The name is missing."))
            return
        label = FIELD_BY_KEY["full_name"].label
        seen: set[tuple[str, str, str]] = set()
        for kind, script, parts in found:
            if parts in seen:
                continue
            seen.add(parts)
            # The first name is the legal name; another spelling beside it (a Latin one beside
            # the Cyrillic) is its transliteration.
            if self.plan.names:
                kind = ClientName.Kind.TRANSLITERATION
            self.plan.names.append(
                {
                    "kind": kind,
                    "script": script,
                    "family_name": _limit(parts[0], 100, label, errors),
                    "given_names": _limit(parts[1], 150, label, errors),
                    "patronymic": _limit(parts[2], 100, label, errors),
                }
            )

    def procedure(self) -> None:
        text = self.text("procedure")
        if not text:
            return
        found = self.lookups.procedure(text)
        if len(found) == 1:
            self.plan.procedure = found[0]
        elif not found:
            self.error(_("Unknown procedure “%(value)s”.") % {"value": text})
        else:
            self.error(
                _("“%(value)s” could be several procedures: %(names)s. Write the whole name.")
                % {"value": text, "names": ", ".join(_(p.name) for p in found)}
            )

    def events(self, *, today: date) -> None:
        """The decision (its date and outcome) and the arrival, each with the deadline its rule
        would compute for the case this row creates."""
        earliest = date(1990, 1, 1)
        decided = self.read_date("decision_date", earliest=earliest, latest=today)
        outcome_text = self.text("decision_outcome")
        outcome = ""
        if outcome_text:
            outcome = self.lookups.outcomes.get(normalise(outcome_text), "")
            if not outcome:
                self.error(
                    _(
                        "Decision “%(value)s” is not one Pristan knows: write refused, refused "
                        "as manifestly unfounded or granted (отказ, явно необоснованно, "
                        "одобрено)."
                    )
                    % {"value": outcome_text}
                )
            elif decided is None and not self.text("decision_date"):
                self.error(_("The decision has no date: write the date of the decision."))
        arrived = self.read_date("arrival_date", earliest=earliest, latest=today)
        case = Case(
            organisation=self.lookups.organisation,
            destination_country=self.plan.case.get("destination_country", ""),
            authority=self.plan.case.get("authority"),
        )
        for kind, day, outcome_value in (
            (Event.Kind.ARRIVAL, arrived, ""),
            (Event.Kind.DECISION, decided, outcome),
        ):
            if day is None:
                continue
            rule = self.lookups.rule(Event(case=case, kind=kind, date=day, outcome=outcome_value))
            due = deadlines.due_date(rule, day) if rule is not None else None
            self.plan.events.append(
                EventPlan(kind=kind, date=day, outcome=outcome_value, rule=rule, due=due)
            )

    def read(self, *, today: date) -> RowPlan:
        plan = self.plan
        self.names()
        client: dict[str, Any] = {}
        client["birth_date"] = self.read_date("birth_date", earliest=date(1900, 1, 1), latest=today)
        client["pseudonym"] = _limit(self.text("pseudonym"), 100, _("Pseudonym"), plan.errors)
        client["birth_place"] = _limit(self.text("birth_place"), 200, _("Place"), plan.errors)
        client["languages"] = _limit(self.text("languages"), 200, _("Languages"), plan.errors)
        client["current_city"] = _limit(self.text("current_city"), 100, _("City"), plan.errors)
        client["gender"] = self.choice("gender", self.lookups.genders, "")
        citizenships = [
            self.country(t) for t in _LIST_SEPARATORS.split(self.text("citizenship")) if t
        ]
        client["citizenships"] = [c for c in citizenships if c]
        current = self.text("current_country")
        client["current_country"] = (self.country(current) or "") if current else ""
        plan.client = client

        for key, kind in (
            ("phone", ContactChannel.Kind.PHONE),
            ("email", ContactChannel.Kind.EMAIL),
            ("telegram", ContactChannel.Kind.TELEGRAM),
            ("signal", ContactChannel.Kind.SIGNAL),
        ):
            value = self.text(key)
            if not value:
                continue
            if kind == ContactChannel.Kind.EMAIL:
                try:
                    validate_email(value)
                except ValidationError:
                    self.error(_("“%(value)s” is not an email address.") % {"value": value})
            plan.contacts.append((kind, _limit(value, 200, FIELD_BY_KEY[key].label, plan.errors)))

        case: dict[str, Any] = {
            "kind": self.choice("kind", self.lookups.kinds, Case.Kind.SUPPORT_LETTER),
            "status": self.choice("status", self.lookups.statuses, Case.Status.INTAKE),
            "risk": self.choice("risk", self.lookups.risks, Case.Risk.MEDIUM),
            "summary": _limit(self.text("summary"), 5000, _("Summary"), plan.errors),
            "opened_at": self.read_date("opened_at", earliest=date(1990, 1, 1), latest=today)
            or today,
            "destination_country": "",
            "authority": None,
        }
        destination = self.text("destination_country")
        if destination:
            case["destination_country"] = self.country(destination) or ""
        authority = self.text("authority")
        if authority:
            case["authority"] = self.lookups.authorities.get(normalise(authority))
            if case["authority"] is None:
                self.error(_("Unknown authority “%(value)s”.") % {"value": authority})
        plan.case = case
        for text in _LIST_SEPARATORS.split(self.text("grounds")):
            if not text:
                continue
            ground = self.lookups.grounds.get(normalise(text))
            if ground is None:
                self.error(_("Unknown ground “%(value)s”.") % {"value": text})
            elif ground not in plan.grounds:
                plan.grounds.append(ground)
        self.procedure()
        self.events(today=today)
        assignee = self.text("assignee")
        if assignee:
            plan.assignee = self.lookups.staff.get(normalise(assignee))
            if plan.assignee is None:
                self.error(
                    _("“%(value)s” is not a caseworker, volunteer or coordinator here.")
                    % {"value": assignee}
                )
        return plan


def _duplicate_keys(plan: RowPlan) -> set[tuple[str, str, date]]:
    birth_date = plan.client.get("birth_date")
    if birth_date is None:
        return set()
    keys = set()
    for name in plan.names:
        given = (name["given_names"].split() or [""])[0]
        keys.add((skeleton(name["family_name"]), skeleton(given) if given else "", birth_date))
    return keys


def read_stored_sheet(sheet_import: SpreadsheetImport) -> Sheet:
    """The uploaded sheet, decrypted by the storage, read again within the upload limits."""
    with sheet_import.file.open("rb") as stored:
        content = stored.read()
    return read_sheet(
        content,
        max_rows=settings.IMPORT_MAX_ROWS,
        max_unzipped_bytes=settings.IMPORT_MAX_UNZIPPED_BYTES,
    )


def plan_import(
    sheet: Sheet,
    mapping: dict[int, str],
    *,
    organisation: Organisation,
    user: User,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Every row read, checked and compared: with the rows above it in the file and, through
    the name blind index and the date of birth, with the organisation's clients."""
    lookups = Lookups(organisation=organisation)
    today = timezone.localdate()
    plan = ImportPlan(headers=sheet.headers, mapping=mapping, rows=[])
    first_row: dict[tuple[str, str, date], int] = {}
    # A new organisation's first import has nobody to compare with: no query at all then.
    has_clients = Client.objects.filter(organisation=organisation).exists()
    # Compared with the clients by the batch, in a few statements for all its rows (row by row,
    # a 3,000-row sheet took a minute); progress is told as each batch is done.
    batch: list[RowPlan] = []
    for index, (number, cells) in enumerate(sheet.rows, start=1):
        row = _Row(number, cells, mapping, lookups).read(today=today)
        for key in _duplicate_keys(row):
            if key in first_row and row.duplicate_of_row is None:
                row.duplicate_of_row = first_row[key]
            first_row.setdefault(key, number)
        batch.append(row)
        if len(batch) == selectors.DUPLICATE_BATCH or index == len(sheet.rows):
            if has_clients:
                _compare_with_clients(batch, organisation=organisation, user=user)
            for row in batch:
                plan.rows.append(row)
                if progress is not None:
                    progress(len(plan.rows))
            batch = []
    return plan


def _compare_with_clients(rows: list[RowPlan], *, organisation: Organisation, user: User) -> None:
    """Each row's possible duplicates among the organisation's clients (`existing`), and what
    the user may be told of them (`warning`). Rows with errors are not compared."""
    compared = [row for row in rows if not row.errors and row.names]
    matches = selectors.possible_duplicates_many(
        organisation_id=organisation.pk,
        people=[
            ([(n["family_name"], n["given_names"]) for n in row.names], row.client["birth_date"])
            for row in compared
        ],
    )
    for row, existing in zip(compared, matches, strict=True):
        row.existing = existing
    matched = [row for row in compared if row.existing]
    warnings = selectors.duplicate_warnings(user, [row.existing for row in matched])
    for row, warning in zip(matched, warnings, strict=True):
        row.warning = warning


def error_report(plan: ImportPlan) -> list[list[str]]:
    """The rows with problems as the sheet had them, with their row number and the problems:
    fixed, the report itself can be uploaded again (its extra columns are ignored)."""
    rows = [[_("Row"), *plan.headers, _("Problems")]]
    for row in plan.rows:
        problems = row.problems()
        if problems:
            cells = row.cells + [""] * (len(plan.headers) - len(row.cells))
            rows.append([str(row.number), *cells, " ".join(problems)])
    return rows
