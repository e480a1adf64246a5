"""Bulk fictional data for benchmarks: `manage.py seed_bulk --cases 100000`.

Everything is invented, like seed_demo (whose name lists it reuses). Rows are written with
`bulk_create`, a chunk of cases per transaction, so that 100,000 cases take minutes. Encryption
stays per field: each row gets its `crypto_id` when it is built, and `bulk_create` encrypts
every field through the field's `pre_save`, bound to model, field and row like a `save()`.
The name index is computed with `casework.names.name_index`, so name search works in both
scripts. Issued letters take consecutive numbers from their organisation's register (locked for
the chunk's transaction, as issuing does), so numbers stay gapless; their PDFs are not rendered
(render status "not rendered") except for a few (`render_pdfs`). The access log is not touched:
nobody accessed anything.

The data is additive: each run adds cases (with new references) to the organisation.
"""

import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import TOTPDevice, User
from casework.models import (
    Assignment,
    Authority,
    Case,
    CaseLogEntry,
    Client,
    ClientName,
    Consent,
    ContactChannel,
    Event,
    Ground,
    Membership,
    Note,
    Organisation,
    Relative,
)
from casework.names import name_index
from demo.builders import letterhead
from demo.data import (
    GROUPS,
    ORGANISATION,
    feminine,
    feminine_alias,
    icao,
)
from letters.models import Letter, LetterTemplate, Register
from letters.services import (
    letter_render,
    register_number,
    register_take,
    template_save_version,
)

Role = Membership.Role
S = Case.Status
BATCH = 1000

# The logins seed_bulk adds: one coordinator, caseworkers and volunteers who share the cases.
COORDINATOR = "bulk-coordinator"


def caseworker_name(n: int) -> str:
    return f"bulk-caseworker-{n:03d}"


def volunteer_name(n: int) -> str:
    return f"bulk-volunteer-{n:02d}"


@dataclass
class Staff:
    coordinator: User
    caseworkers: list[User]
    volunteers: list[User]
    created: list[str]


def bulk_organisation() -> Organisation:
    """The demo organisation (seed_demo's), created when missing, able to sign letters."""
    org, _ = Organisation.objects.get_or_create(name=ORGANISATION["name"], defaults=ORGANISATION)
    letterhead(org)
    return org


def bulk_staff(
    *,
    organisation: Organisation,
    caseworkers: int,
    volunteers: int,
    password: str,
    reset_password: bool = False,
) -> Staff:
    """Fetch or create the bulk logins (a coordinator, caseworkers, volunteers), each with a
    confirmed authenticator. New users get `password`, existing ones only with
    `reset_password`. One hash serves them all (hashing is slow by design)."""
    specs = [(COORDINATOR, Role.COORDINATOR, "Координатор", "Массовый")]
    specs += [
        (caseworker_name(n), Role.CASEWORKER, "Сотрудник", f"№{n}")
        for n in range(1, caseworkers + 1)
    ]
    specs += [
        (volunteer_name(n), Role.VOLUNTEER, "Волонтёр", f"№{n}") for n in range(1, volunteers + 1)
    ]
    hashed = make_password(password)
    existing = {u.username: u for u in User.objects.filter(username__in=[s[0] for s in specs])}
    memberships = dict(
        Membership.objects.filter(user__in=existing.values()).values_list(
            "user__username", "organisation_id"
        )
    )
    for username, org_id in memberships.items():
        if org_id != organisation.pk:
            raise ValueError(f"User “{username}” belongs to another organisation.")
    created = []
    new_users = []
    for username, _role, first, last in specs:
        if username not in existing:
            new_users.append(
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.org",
                    password=hashed,
                )
            )
            created.append(username)
    User.objects.bulk_create(new_users)
    if reset_password and existing:
        User.objects.filter(pk__in=[u.pk for u in existing.values()]).update(password=hashed)
    users = {u.username: u for u in User.objects.filter(username__in=[s[0] for s in specs])}
    Membership.objects.bulk_create(
        [
            Membership(user=users[username], organisation=organisation, role=role)
            for username, role, *_ in specs
            if username not in memberships
        ]
    )
    with_device = set(
        TOTPDevice.objects.filter(user__in=users.values(), confirmed=True).values_list(
            "user__username", flat=True
        )
    )
    TOTPDevice.objects.bulk_create(
        [
            TOTPDevice(user=users[username], name=account_services.TOTP_NAME, confirmed=True)
            for username, *_ in specs
            if username not in with_device
        ]
    )
    return Staff(
        coordinator=users[COORDINATOR],
        caseworkers=[users[caseworker_name(n)] for n in range(1, caseworkers + 1)],
        volunteers=[users[volunteer_name(n)] for n in range(1, volunteers + 1)],
        created=created,
    )


def _issued_at(letter: Letter) -> datetime:
    """When a letter of a chunk's `issued` list was issued (every one of them has the time)."""
    if letter.issued_at is None:
        raise ValueError("the letter has not been issued")
    return letter.issued_at


@contextmanager
def _timestamps_as_given(*models) -> Iterator[None]:
    """Let bulk rows carry their own (past) creation times: auto_now(_add) would stamp them
    all with now. Only for the duration of the bulk insert, in this process."""
    fields = [
        f
        for model in models
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


# --- what a case looks like ----------------------------------------------------------------------

# The status a case has reached, by how long ago it was opened (days): (max age, weights).
STATUS_BY_AGE = [
    (30, {S.INTAKE: 5, S.ACTIVE: 4, S.LETTER_REQUESTED: 1}),
    (
        180,
        {S.ACTIVE: 4, S.LETTER_REQUESTED: 3, S.LETTER_ISSUED: 3, S.AWAITING_DECISION: 2,
         S.CLOSED: 1},
    ),
    (
        100000,
        {S.AWAITING_DECISION: 3, S.GRANTED: 3, S.REFUSED: 2, S.APPEAL: 1, S.CLOSED: 4,
         S.LETTER_ISSUED: 1},
    ),
]  # fmt: skip
WITH_LETTER = {S.LETTER_ISSUED, S.AWAITING_DECISION, S.GRANTED, S.REFUSED, S.APPEAL}
KIND_WEIGHTS = {
    Case.Kind.SUPPORT_LETTER: 5,
    Case.Kind.ASYLUM_CLAIM: 3,
    Case.Kind.APPEAL: 1,
    Case.Kind.RELOCATION: 1,
    Case.Kind.LEGAL_AID: 1,
}
CITIES = {
    "FR": ["Paris", "Lyon", "Strasbourg", "Nancy"],
    "DE": ["Berlin", "München", "Köln", "Leipzig"],
    "US": ["New York", "Chicago", "Sacramento"],
    "GB": ["London", "Manchester"],
    "KZ": ["Алматы", "Астана"],
    "GE": ["Тбилиси", "Батуми"],
    "AM": ["Ереван"],
    "TR": ["Стамбул", "Анталья"],
}
SUMMARIES = [
    "Преследование за антивоенную позицию: обыск, вызовы на допрос.",
    "Давление на религиозную общину, обыск дома; опасается уголовного дела.",
    "Задержания и угрозы в регионе происхождения; опасается возвращения.",
    "Угрозы со стороны родственников и полиции после аутинга.",
    "Уехал после мобилизации; дома заочно возбуждено уголовное дело.",
    "Уголовное преследование после отказа отдать бизнес; риск экстрадиции.",
]
NOTES = [
    "Созвонились в Signal, клиент в безопасности. Следующий звонок через неделю.",
    "Клиент прислал сканы документов, проверили комплектность.",
    "Обсудили подготовку к интервью: хронология событий, даты задержаний.",
    "Нужен перевод справки — отправили волонтёру-переводчику.",
    "Напомнили о сроке подачи, клиент подтвердил.",
    "Client asked us not to use email any more: Signal only.",
    "Переслали контакты юриста-партнёра; клиент сам с ним свяжется.",
]
EVENT_TITLES: dict[str, str] = {
    Event.Kind.INTERVIEW: "Интервью",
    Event.Kind.HEARING: "Слушание",
    Event.Kind.APPEAL_DEADLINE: "Срок обжалования",
    Event.Kind.STAY_EXPIRY: "Истекает право на пребывание",
    Event.Kind.SUBMISSION: "Подать документы",
    Event.Kind.DECISION: "Получено решение",
    Event.Kind.ARRIVAL: "Прибытие в страну",
    Event.Kind.OTHER: "Встреча в офисе",
}
RELATIONS = list(Relative.Relation.values)
LETTER_TEXT = {
    "ru": "Настоящим подтверждаем, что {name} обратился в нашу организацию за помощью.",
    "en": "We confirm that {name} has been receiving our assistance since {date}.",
    "fr": "Nous certifions que {name} est accompagné par notre association depuis le {date}.",
    "de": "Wir bestätigen, dass {name} seit dem {date} von unserem Verein unterstützt wird.",
}
SUBJECT = {
    "ru": "Письмо поддержки",
    "en": "Letter of support",
    "fr": "Lettre de soutien",
    "de": "Unterstützungsschreiben",
}


class _Seeder:
    """Builds and writes one chunk of cases at a time."""

    def __init__(self, *, organisation, staff: Staff, n_cases: int, years: int, seed: int):
        self.org = organisation
        self.staff = staff
        self.n = n_cases
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.start = self.now - timedelta(days=365 * years)
        self.authorities = list(Authority.objects.order_by("code"))
        self.grounds = list(Ground.objects.values_list("pk", flat=True))
        self.versions = {}
        for language, _label in settings.LETTER_LANGUAGES:
            template = (
                LetterTemplate.objects.filter(language=language, is_active=True)
                .order_by("kind", "pk")
                .first()
            )
            if template is not None:
                self.versions[language] = template.current_version or template_save_version(
                    template=template
                )
        self.used_references = set(Case.objects.values_list("reference", flat=True))
        self.groups = list(GROUPS.values())
        self.signer = organisation.letter_signer_name or "Координатор Массовый"
        self.counts: Counter = Counter()

    # -- helpers --

    def _reference(self, year: int) -> str:
        # Six digits: never the four or five of the app's own references while those last.
        while True:
            reference = f"{year}-{self.rng.randint(100000, 999999)}"
            if reference not in self.used_references:
                self.used_references.add(reference)
                return reference

    def _moment(self, day: date) -> datetime:
        moment = timezone.make_aware(
            datetime.combine(day, time(self.rng.randint(9, 18), self.rng.randint(0, 59)))
        )
        return min(moment, self.now - timedelta(minutes=1))

    def _anchor(self, index: int) -> datetime:
        """The case's moment on a time line from `start` to now, increasing with the index, so
        that letters issued in index order are issued in date order."""
        span = (self.now - timedelta(hours=1) - self.start).total_seconds()
        return self.start + timedelta(seconds=span * (index + 0.5) / self.n)

    def _status(self, age_days: int) -> str:
        for limit, weights in STATUS_BY_AGE:
            if age_days <= limit:
                return self.rng.choices(list(weights), list(weights.values()))[0]
        raise AssertionError

    def _person(self) -> dict:
        rng = self.rng
        group = rng.choice(self.groups)
        female = rng.random() < 0.4
        family, fr, de = rng.choice(group.surnames)
        given = rng.choice(group.female if female else group.male)
        if female and feminine(family) != family:
            family = feminine(family)
            fr = fr and feminine_alias(fr)
            de = de and feminine_alias(de)
        patronymic = rng.choice(group.fathers) + ("вна" if female else "вич")
        return {
            "family": family,
            "given": given,
            "patronymic": patronymic,
            "alias": rng.choice([fr, de]),
            "group": group,
            "birth": date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        }

    # -- one chunk --

    def chunk(self, indices: range) -> None:
        rng = self.rng
        rows: dict[str, list] = defaultdict(list)
        issued: list[Letter] = []
        for index in indices:
            anchor = self._anchor(index)
            p = self._person()
            authority = rng.choice(self.authorities)
            # A CountryField gives a Country; django-stubs types it as the CharField it extends.
            country = authority.country.code  # type: ignore[attr-defined]
            # Opened before the anchor, so that a letter issued at the anchor follows the intake.
            opened_at = timezone.localdate(anchor - timedelta(days=rng.randint(14, 60)))
            status = self._status((self.today - opened_at).days)
            full_names = [
                f"{p['family']} {p['given']} {p['patronymic']}",
                f"{icao(p['family'])} {icao(p['given'])} {icao(p['patronymic'])}",
            ]
            if p["alias"] and rng.random() < 0.3:
                full_names.append(f"{p['alias']} {icao(p['given'])}")
            created = self._moment(opened_at)
            client = Client(
                organisation=self.org,
                pseudonym=f"Клиент {rng.choice('АБВГДЕЖИКЛМНПРСТУФ')}-{rng.randint(1, 9999):04d}",
                birth_date=p["birth"],
                birth_place=rng.choice(p["group"].birthplaces),
                citizenships=rng.choice(p["group"].citizenships),
                languages=rng.choice(p["group"].languages),
                current_country=country,
                current_city=rng.choice(CITIES.get(country, ["—"])),
                documents_held=rng.choice(Client.DocumentsHeld.values),
                health=rng.choice(["", "", "ПТСР после задержания; наблюдение у психолога."]),
                name_index=name_index(full_names),
                created_at=created,
                updated_at=created,
            )
            rows["clients"].append(client)
            rows["names"].append(
                ClientName(client=client, kind=ClientName.Kind.LEGAL, script="cyrl",
                           family_name=p["family"], given_names=p["given"],
                           patronymic=p["patronymic"])
            )  # fmt: skip
            rows["names"].append(
                ClientName(client=client, kind=ClientName.Kind.TRANSLITERATION, script="latn",
                           family_name=icao(p["family"]), given_names=icao(p["given"]),
                           patronymic=icao(p["patronymic"]))
            )  # fmt: skip
            if len(full_names) > 2:
                rows["names"].append(
                    ClientName(client=client, kind=ClientName.Kind.ALIAS, script="latn",
                               family_name=p["alias"], given_names=icao(p["given"]))
                )  # fmt: skip
            rows["contacts"].append(
                ContactChannel(
                    client=client,
                    kind=ContactChannel.Kind.SIGNAL,
                    value=f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-"
                    f"{rng.randint(10, 99)}-{rng.randint(10, 99)}",
                    safety_note=rng.choice(["Signal only, never call", ""]),
                )
            )
            given_names = p["group"].male + p["group"].female
            for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):
                rows["relatives"].append(
                    Relative(
                        client=client,
                        relation=rng.choice(RELATIONS),
                        full_name=f"{p['family']} {rng.choice(given_names)}",
                        birth_date=date(rng.randint(1950, 2020), rng.randint(1, 12), 1),
                        location=rng.choice(p["group"].birthplaces),
                        in_household=rng.random() < 0.3,
                    )
                )
            closed_at = None
            retention = None
            if status == S.CLOSED:
                closed_at = min(self.today, opened_at + timedelta(days=rng.randint(60, 300)))
                retention = closed_at + timedelta(days=settings.PRISTAN_RETENTION_DAYS)
            case = Case(
                organisation=self.org,
                reference=self._reference(opened_at.year),
                client=client,
                kind=rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0],
                destination_country=country,
                authority=authority,
                status=status,
                risk=rng.choice(Case.Risk.values),
                summary=rng.choice(SUMMARIES),
                opened_at=opened_at,
                closed_at=closed_at,
                retention_until=retention,
                created_at=created,
                updated_at=created,
            )
            rows["cases"].append(case)
            for ground in rng.sample(self.grounds, rng.choice([1, 1, 2])):
                rows["grounds"].append(Case.grounds.through(case=case, ground_id=ground))
            worker = self.staff.caseworkers[index % len(self.staff.caseworkers)]
            log = rows["log"]
            log.append(
                CaseLogEntry(case=case, actor=self.staff.coordinator,
                             action=CaseLogEntry.Action.CREATED, at=created)
            )  # fmt: skip
            assignees = [worker]
            if self.staff.volunteers and rng.random() < 0.1:
                assignees.append(rng.choice(self.staff.volunteers))
            for user in assignees:
                rows["assignments"].append(
                    Assignment(case=case, user=user, assigned_by=self.staff.coordinator,
                               assigned_at=created)
                )  # fmt: skip
                log.append(
                    CaseLogEntry(case=case, actor=self.staff.coordinator,
                                 action=CaseLogEntry.Action.ASSIGNED, detail=user.username,
                                 at=created)
                )  # fmt: skip
            purposes = [Consent.Purpose.CASEWORK, Consent.Purpose.LETTERS]
            if rng.random() < 0.5:
                purposes.append(Consent.Purpose.STATISTICS)
            for purpose in purposes:
                rows["consents"].append(
                    Consent(case=case, purpose=purpose, given_on=opened_at, recorded_by=worker)
                )
                log.append(
                    CaseLogEntry(case=case, actor=worker, action=CaseLogEntry.Action.CONSENT,
                                 detail=purpose, at=created)
                )  # fmt: skip
            open_case = status not in (S.CLOSED, S.GRANTED)
            for _ in range(rng.choice([1, 2, 2, 3, 4])):
                kind = rng.choice(Event.Kind.values)
                if open_case and rng.random() < 0.3:
                    day = self.today + timedelta(days=rng.randint(-10, 60))
                else:
                    day = opened_at + timedelta(days=rng.randint(1, 90))
                done = day < self.today and not (open_case and rng.random() < 0.05)
                rows["events"].append(
                    Event(case=case, kind=kind, title=EVENT_TITLES[kind], date=day,
                          location=authority.short_name, is_deadline=kind in Event.DEADLINE_KINDS,
                          done=done, created_by=worker)
                )  # fmt: skip
                log.append(
                    CaseLogEntry(case=case, actor=worker, action=CaseLogEntry.Action.EVENT,
                                 at=created)
                )  # fmt: skip
            for n in range(rng.choice([0, 1, 2, 3, 5])):
                at = min(created + timedelta(days=3 * (n + 1), minutes=n), self.now)
                rows["notes"].append(
                    Note(case=case, author=worker, body=rng.choice(NOTES), created_at=at)
                )
                log.append(
                    CaseLogEntry(case=case, actor=worker, action=CaseLogEntry.Action.NOTE, at=at)
                )
            if status != S.INTAKE:
                log.append(
                    CaseLogEntry(case=case, actor=worker, action=CaseLogEntry.Action.STATUS,
                                 detail=f"{S.INTAKE} → {status}", at=created)
                )  # fmt: skip
            version = self.versions.get(authority.language)
            wants_letter = status in WITH_LETTER or status == S.LETTER_REQUESTED
            if version is not None and wants_letter:
                date_text = opened_at.isoformat()
                letter = Letter(
                    case=case,
                    template_version=version,
                    authority=authority,
                    language=authority.language,
                    subject=SUBJECT[authority.language],
                    body=LETTER_TEXT[authority.language].format(
                        name=full_names[0 if authority.language == "ru" else 1], date=date_text
                    ),
                    author=worker,
                    signer_name=self.signer,
                    signer_title=self.org.letter_signer_title,
                    created_at=anchor - timedelta(days=2),
                    updated_at=anchor,
                )
                if status == S.LETTER_REQUESTED:
                    letter.status = Letter.Status.DRAFT
                    letter.updated_at = letter.created_at
                else:
                    letter.status = Letter.Status.ISSUED
                    letter.approved_by = self.staff.coordinator
                    letter.approved_at = anchor - timedelta(hours=2)
                    letter.reviewed_hash = letter.text_hash
                    letter.issued_at = anchor
                    letter.issued_by = self.staff.coordinator
                    if rng.random() < 0.01:
                        letter.status = Letter.Status.REVOKED
                        letter.revoked_at = min(anchor + timedelta(days=5), self.now)
                        letter.revocation_reason = "Выдано по ошибке (вымышленные данные)."
                    issued.append(letter)
                rows["letters"].append(letter)
        with transaction.atomic(), _timestamps_as_given(Client, Case, Assignment, Note, Letter):
            self._number(issued)
            for key, model in (
                ("clients", Client),
                ("names", ClientName),
                ("contacts", ContactChannel),
                ("relatives", Relative),
                ("cases", Case),
                ("grounds", Case.grounds.through),
                ("assignments", Assignment),
                ("consents", Consent),
                ("events", Event),
                ("notes", Note),
                ("letters", Letter),
            ):
                model.objects.bulk_create(rows[key], batch_size=BATCH)
                self.counts[key] += len(rows[key])
            # History of issuing, after the letters (they carry the number).
            letter_log = [
                CaseLogEntry(case=letter.case, actor=self.staff.coordinator,
                             action=CaseLogEntry.Action.LETTER,
                             detail=f"issued as {letter.number}", at=_issued_at(letter))
                for letter in issued
            ]  # fmt: skip
            CaseLogEntry.objects.bulk_create(rows["log"] + letter_log, batch_size=BATCH)
            self.counts["history entries"] += len(rows["log"]) + len(letter_log)

    def _number(self, issued: list[Letter]) -> None:
        """Consecutive numbers from the register of each letter's year, in issuing order,
        taken as issuing takes them (`register_take`, in this chunk's transaction)."""
        issued.sort(key=_issued_at)
        by_year: dict[int, list[Letter]] = defaultdict(list)
        for letter in issued:
            by_year[timezone.localdate(letter.issued_at).year].append(letter)
        for year, letters in by_year.items():
            register, numbers = register_take(organisation=self.org, year=year, count=len(letters))
            for letter, sequence in zip(letters, numbers, strict=True):
                letter.register = register
                letter.sequence = sequence
                letter.number = register_number(self.org, year, sequence)


def bulk_seed(
    *,
    organisation: Organisation,
    staff: Staff,
    cases: int,
    years: int = 3,
    seed: int | None = None,
    chunk_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> Counter:
    """Add `cases` fictional cases (with clients, names, relatives, events, notes, history,
    consents and letters) to the organisation. Returns what was made, by kind."""
    seeder = _Seeder(
        organisation=organisation,
        staff=staff,
        n_cases=cases,
        years=years,
        seed=uuid.uuid4().int if seed is None else seed,
    )
    for start in range(0, cases, chunk_size):
        seeder.chunk(range(start, min(start + chunk_size, cases)))
        if progress:
            progress(min(start + chunk_size, cases), cases)
    _analyze()
    return seeder.counts


def _analyze() -> None:
    """Fresh planner statistics: right after a bulk load PostgreSQL still believes the tables
    are small and plans full scans until autovacuum comes round."""
    if connection.vendor != "postgresql":
        return
    tables = [
        m._meta.db_table
        for m in (Client, ClientName, Relative, Case, Assignment, Consent, Event, Note)
    ]
    tables += [CaseLogEntry._meta.db_table, Letter._meta.db_table, Register._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")


def render_some_pdfs(*, organisation: Organisation, count: int) -> int:
    """Render the PDFs of the `count` most recent unrendered issued letters, as the worker does
    (so that downloads can be benchmarked)."""
    ids = list(
        Letter.objects.filter(
            case__organisation=organisation,
            status=Letter.Status.ISSUED,
            render_status=Letter.RenderStatus.NONE,
        )
        .order_by("-issued_at")
        .values_list("pk", flat=True)[:count]
    )
    Letter.objects.filter(pk__in=ids).update(render_status=Letter.RenderStatus.PENDING)
    done = 0
    for letter_id in ids:
        if letter_render(letter_id=letter_id, task_id=f"seed-bulk-{letter_id}") == "ready":
            done += 1
    return done
