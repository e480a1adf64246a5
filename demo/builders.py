"""Builds the demo: one fictional organisation, one login per role and about forty fictional
cases, from the tables in demo.data (run by `manage.py seed_demo`).

The organisation has its name and address for letters in Russian, English, French and German
and two signers; the cases have the references and statements for letters their addressees
need, and the letters of the cases past "letter issued" are in the register (drafted by the
caseworker, approved by the coordinator, issued through `letters.services`, so that the
numbers, the checks and the history are real). Issued letters wait for the worker to render
them ("pending"): `make run` seeds before it starts the worker.

Cases are created through `casework.services`, as the views create them, so that the name index,
the assignments and the history are right. Running the command again creates nothing new: users
are fetched or created (their password is set only when they are new or when --password is
given), and cases are only created while the demo organisation has none. Every demo user has an
authenticator (TOTP) and recovery codes; the command prints what a newcomer needs to log in
(the otpauth:// URI and two recovery codes per user). Existing ones are kept, unless --password
is given: then they are made anew, like the passwords.

Everything here is invented. Names are random combinations of common given names and family
names; no name or story is taken from a real person. Pseudonyms are drawn independently of the
names, so that not even an initial leaks.
"""

import logging
import random
import secrets
from collections import Counter
from datetime import date, datetime, time, timedelta

import weasyprint
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import RecoveryCodeDevice, TOTPDevice
from casework import deadlines, referrals, services
from casework.models import (
    Assignment,
    Authority,
    Case,
    CaseLogEntry,
    CaseReference,
    CaseStatement,
    ChecklistEntry,
    Client,
    ClientName,
    Consent,
    ContactChannel,
    Document,
    Event,
    Ground,
    Membership,
    Note,
    Organisation,
    Procedure,
    Relative,
    Share,
)
from core.uploads import validate_upload
from demo.data import (
    ABROAD,
    APPEAL_BODY,
    AUTHORITY_PLACE,
    BUSINESS,
    COUNTRY_RU,
    DEMO_REFERRAL_MESSAGE,
    DESTINATION_CITIES,
    DIALECTS,
    ETHNICITY_CRIMINAL,
    EVENT_PLANS,
    GROUND_GROUPS,
    GROUPS,
    HEALTH,
    IDENTITIES,
    IDENTITY_PHRASES,
    INTERPRETER_CODES,
    JUDGES,
    KIND_AUTHORITIES,
    KIND_SUMMARY,
    LANGUAGE_BY_PLACE,
    MILITARY,
    N_CASES,
    NOTES,
    OPENED_AGO,
    ORGANISATION,
    ORIENTATION,
    PDF_HTML,
    POLITICAL,
    PROCEDURE_FOR_AUTHORITY,
    RELIGION_MUSLIM,
    RELIGION_OTHER,
    REVOCATION_REASON,
    SAFE_USES,
    SAFE_USES_WITHOUT_NOTE,
    SAFETY_NOTES,
    SECOND_GROUND,
    SEED,
    SIGNERS,
    STAFF,
    SUMMARY,
    TRANSIT,
    UNHCR_PREFIX,
    VULNERABILITIES,
    Person,
    Plan,
    Role,
    S,
    _cycle,
    _gendered,
    feminine,
    feminine_alias,
    icao,
    statement_text,
)
from letters import services as letter_services
from letters.forms import fitting_template
from letters.models import Letter, OrganisationIdentity, Signer

User = get_user_model()


# Cases of these kinds go through "letter requested" and "letter issued" (see _path).
LETTER_KINDS = (Case.Kind.SUPPORT_LETTER, Case.Kind.ASYLUM_CLAIM, Case.Kind.APPEAL)
# Statuses after "letter issued": their cases' letters are in the register.
ISSUED_STATUSES = (S.LETTER_ISSUED, S.AWAITING_DECISION, S.GRANTED, S.REFUSED, S.APPEAL)
COURT_KINDS = (
    Authority.Kind.COURT,
    Authority.Kind.APPEAL_COURT,
    Authority.Kind.ADMINISTRATIVE_COURT,
    Authority.Kind.IMMIGRATION_COURT,
)
FR_DE = ("ofpra", "cnda", "ta-nancy", "bamf", "vg-berlin")
PENDING_STATUSES = (S.INTAKE, S.ACTIVE, S.LETTER_REQUESTED, S.LETTER_ISSUED,
                    S.AWAITING_DECISION, S.APPEAL)  # fmt: skip


class DemoError(Exception):
    """The demo cannot be built here (a missing ground or authority, a user in another
    organisation); nothing was written."""


def letterhead(org) -> None:
    """The demo organisation's name and address in every letter language, and who signs
    (created when missing; an administrator's changes are kept)."""
    for language, fields in IDENTITIES.items():
        defaults = {
            "email": ORGANISATION["email"],
            "phone": ORGANISATION["phone"],
            "website": ORGANISATION["website"],
            **fields,
        }
        OrganisationIdentity.objects.get_or_create(
            organisation=org, language=language, defaults=defaults
        )
    for fields in SIGNERS:
        Signer.objects.get_or_create(
            organisation=org, name_latin=fields["name_latin"], defaults=fields
        )


class DemoBuilder:
    COUNTED = (
        ("organisations", Organisation),
        ("identities", OrganisationIdentity),
        ("signers", Signer),
        ("users", User),
        ("memberships", Membership),
        ("clients", Client),
        ("client names", ClientName),
        ("contact channels", ContactChannel),
        ("relatives", Relative),
        ("cases", Case),
        ("assignments", Assignment),
        ("shares", Share),
        ("consents", Consent),
        ("events", Event),
        ("notes", Note),
        ("documents", Document),
        ("references", CaseReference),
        ("statements", CaseStatement),
        ("letters", Letter),
        ("history entries", CaseLogEntry),
    )

    # The newest history entry of the case being built that `_stamp` has dated (set per case).
    _last_entry: int

    def __init__(self, *, seed: int = SEED):
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = timezone.localdate()
        self.now = timezone.now()

    def counts(self) -> dict[str, int]:
        return {label: model.objects.count() for label, model in self.COUNTED}

    def build(self, *, password: str | None) -> tuple[list, str | None, int]:
        """Create what is missing, in one transaction. Returns the users' rows (username, role,
        password shown, created), the generated password if any, and how many cases the demo
        organisation already had (none are created then)."""
        # WeasyPrint reports every rendering step at INFO; the demo PDFs are not worth it.
        progress = logging.getLogger("weasyprint.progress")
        level = progress.level
        progress.setLevel(logging.WARNING)
        try:
            with transaction.atomic():
                org, _created = Organisation.objects.get_or_create(
                    name=ORGANISATION["name"],
                    defaults=ORGANISATION,
                )
                self._letterhead(org)
                rows, generated = self._users(org, password)
                existing_cases = org.cases.count()
                if not existing_cases:
                    self._cases(org)
        finally:
            progress.setLevel(level)
        return rows, generated, existing_cases

    # --- the organisation in letters --------------------------------------------------------

    def _letterhead(self, org) -> None:
        letterhead(org)

    # --- users ------------------------------------------------------------------------------

    def _users(self, org, password):
        generated = None
        rows = []
        self.users = {}
        self.second_factors = {}
        self.second_factors_kept = False
        for spec in STAFF:
            user, created = User.objects.get_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "email": spec.email,
                },
            )
            membership = Membership.objects.filter(user=user).select_related("organisation")
            membership = membership.first()
            if membership is not None and membership.organisation_id != org.pk:
                raise DemoError(
                    f"User “{spec.username}” already belongs to another organisation "
                    f"(“{membership.organisation}”); refusing to move it into the demo."
                )
            Membership.objects.update_or_create(
                user=user,
                defaults={
                    "organisation": org,
                    "role": spec.role,
                    "special_category_access": spec.special,
                },
            )
            user.is_active = True
            user.is_staff = spec.superuser
            user.is_superuser = spec.superuser
            shown = "(unchanged)"
            if password is not None:
                user.set_password(password)
                shown = password
            elif created:
                generated = generated or secrets.token_urlsafe(12)
                user.set_password(generated)
                shown = generated
            user.save()
            self.users[spec.username] = user
            self.second_factors[spec.username] = self._second_factor(
                user, reset=password is not None
            )
            rows.append((spec.username, Role(spec.role).label, shown, created))
        return rows, generated

    def _second_factor(self, user, *, reset: bool) -> tuple[str, list[str]]:
        """The user's authenticator URI and two new recovery codes; none when the user already
        has codes (only their hashes are stored: they were printed when they were made)."""
        if reset:
            TOTPDevice.objects.filter(user=user).delete()
            RecoveryCodeDevice.objects.filter(user=user).delete()
        device = account_services.totp_device(user)
        self.second_factors_kept |= device is not None
        if device is None:
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(
                user=user, name=account_services.TOTP_NAME, confirmed=True
            )
        if account_services.recovery_codes_remaining(user):
            self.second_factors_kept = True
            return device.config_url, []
        codes = account_services.recovery_codes_create(user=user)
        return device.config_url, [account_services.format_recovery_code(c) for c in codes[:2]]

    # --- planning ---------------------------------------------------------------------------

    def _plans(self) -> list[Plan]:
        rng = self.rng
        kinds = _cycle(list(Case.Kind.values), N_CASES, rng)
        statuses = _cycle(list(Case.Status.values), N_CASES, rng)
        risks = _cycle(list(Case.Risk.values), N_CASES, rng)
        grounds = _cycle(list(Ground.Code.values), N_CASES, rng)
        # Pseudonyms are drawn independently of the names: not even an initial leaks.
        letters = "АБВГДЕЖИКЛМНПРСТУФ"
        pseudonyms = rng.sample(
            [f"Клиент {a}-{n:02d}" for a in letters for n in range(1, 100)], N_CASES
        )
        per_kind: Counter[str] = Counter()
        used_names: set[str] = set()
        plans = []
        for i in range(N_CASES):
            kind, status, ground = kinds[i], statuses[i], grounds[i]
            options = KIND_AUTHORITIES[kind]
            authority = options[per_kind[kind] % len(options)]
            per_kind[kind] += 1
            person = self._person(rng.choice(GROUND_GROUPS[ground]), ground, used_names)
            case_grounds = [ground]
            second = [
                g for g in SECOND_GROUND[ground]
                if not (g == "military" and person.female)
                and not (g == "ethnicity" and person.group in ("russian", "slavic"))
            ]  # fmt: skip
            if second and rng.random() < 0.3:
                case_grounds.append(rng.choice(second))
            lo, hi = OPENED_AGO[status]
            plans.append(
                Plan(
                    index=i,
                    kind=kind,
                    status=status,
                    risk=risks[i],
                    grounds=case_grounds,
                    authority=authority,
                    person=person,
                    pseudonym=pseudonyms[i],
                    opened_at=self.today - timedelta(days=rng.randint(lo, hi)),
                )
            )
        # A handful of practical-help cases also go to the volunteer.
        practical = [p for p in plans if p.kind in (Case.Kind.RELOCATION, Case.Kind.LEGAL_AID)]
        for p in rng.sample(practical, min(5, len(practical))):
            p.volunteer = True
        # Five cases are shared with the partner lawyer; the last share has already expired.
        contested = [
            p for p in plans
            if not p.volunteer and (p.kind == Case.Kind.APPEAL
                                    or p.status in (S.REFUSED, S.APPEAL, S.AWAITING_DECISION))
        ]  # fmt: skip
        for n, p in enumerate(rng.sample(contested, min(5, len(contested)))):
            p.share = "expired" if n == 4 else "active"
        # Three small documents.
        for status, doc_kind, title in (
            (S.REFUSED, Document.Kind.AUTHORITY_DECISION, "Решение об отказе (демо)"),
            (S.APPEAL, Document.Kind.COURT_DECISION, "Определение суда (демо)"),
            (S.GRANTED, Document.Kind.AUTHORITY_DECISION, "Решение о защите (демо)"),
        ):
            match = next((p for p in plans if p.status == status and p.document is None), None)
            if match is not None:
                match.document = (doc_kind, title)
        # Two clients withdrew a consent: one stopped the letters (and the case was closed),
        # one no longer wants to be counted in the statistics.
        closed = [p for p in plans if p.status == S.CLOSED]
        if closed:
            closed[0].withdraw = Consent.Purpose.LETTERS
        if len(closed) > 1:
            closed[1].withdraw = Consent.Purpose.STATISTICS
        # Two clients are addressed in the neutral form in letters: one non-binary, one whose
        # form of address is not recorded; both have letters to France or Germany.
        for p in plans:
            p.gender = Client.Gender.FEMALE if p.person.female else Client.Gender.MALE
        for gender in (Client.Gender.NEUTRAL, ""):
            match = next(
                (
                    p for p in plans
                    if p.authority in FR_DE and p.status in ISSUED_STATUSES
                    and p.kind in LETTER_KINDS and "military" not in p.grounds
                    and p.gender in (Client.Gender.FEMALE, Client.Gender.MALE)
                ),
                None,
            )  # fmt: skip
            if match is not None:
                match.gender = gender
        return plans

    def _person(self, group_name: str, ground: str, used: set) -> Person:
        rng = self.rng
        group = GROUPS[group_name]
        female = ground != "military" and rng.random() < 0.4
        while True:
            family, fr, de = rng.choice(group.surnames)
            given = rng.choice(group.female if female else group.male)
            if (family, given) not in used:
                used.add((family, given))
                break
        if female and feminine(family) != family:
            family = feminine(family)
            fr = fr and feminine_alias(fr)
            de = de and feminine_alias(de)
        patronymic = rng.choice(group.fathers) + ("вна" if female else "вич")
        year = rng.randint(1985, 2003) if ground == "military" else rng.randint(1965, 2002)
        birth_date = date(year, rng.randint(1, 12), rng.randint(1, 28))
        return Person(female, family, given, patronymic, fr, de, group_name, birth_date)

    # --- creation ---------------------------------------------------------------------------

    def _cases(self, org):
        coordinator = self.users["coordinator"]
        workers = [self.users["caseworker"], self.users["caseworker2"]]
        authorities = {a.code: a for a in Authority.objects.all()}
        grounds = {g.code: g for g in Ground.objects.all()}
        missing = sorted(set(Ground.Code.values) - set(grounds))
        if missing:
            raise DemoError(f"Grounds missing (run migrate first): {', '.join(missing)}")
        self._pdf_fetcher = None
        self._signers = list(Signer.objects.filter(organisation=org, is_active=True))
        self._issued = 0
        for plan in self._plans():
            authority = authorities.get(plan.authority) if plan.authority else None
            if plan.authority and authority is None:
                raise DemoError(f"Authority “{plan.authority}” missing (run migrate first).")
            worker = workers[plan.index % 2]
            self._case(org, plan, authority, grounds, worker, coordinator)
        # One letter was revoked after it was issued (its verification page says so).
        revoked = (
            Letter.objects.filter(
                case__organisation=org, status=Letter.Status.ISSUED, case__status=S.GRANTED
            )
            .order_by("sequence")
            .first()
        )
        if revoked is not None:
            letter_services.letter_revoke(letter=revoked, reason=REVOCATION_REASON, by=coordinator)

    def _at(self, day: date, hour: int | None = None) -> datetime:
        """A moment on this day in working hours, never in the future."""
        rng = self.rng
        hour = rng.randint(9, 18) if hour is None else hour
        moment = timezone.make_aware(datetime.combine(day, time(hour, rng.randint(0, 59))))
        return min(moment, self.now - timedelta(minutes=1))

    def _stamp(self, case, when: datetime) -> None:
        """Date the history entries written since the last stamp: the services write `now`."""
        entries = CaseLogEntry.objects.filter(case=case, id__gt=self._last_entry)
        ids = list(entries.values_list("id", flat=True))
        if ids:
            entries.update(at=min(when, self.now - timedelta(minutes=1)))
            self._last_entry = max(ids)

    def _case(self, org, plan: Plan, authority, grounds, worker, coordinator):
        rng = self.rng
        p = plan.person
        self._last_entry = 0
        opened = self._at(plan.opened_at, 10)
        country, city = self._whereabouts(plan, authority)
        group = GROUPS[p.group]
        citizenships = rng.choice(group.citizenships)
        birth_place = rng.choice(group.birthplaces)
        languages = LANGUAGE_BY_PLACE.get(birth_place) or rng.choice(group.languages)
        if citizenships[0] in ABROAD:
            places, languages = ABROAD[citizenships[0]]
            birth_place = rng.choice(places)
        client = Client(
            pseudonym=plan.pseudonym,
            birth_date=p.birth_date,
            birth_place=birth_place,
            # A multiple CountryField takes a list; django-stubs types it as the CharField it
            # extends.
            citizenships=citizenships,  # type: ignore[misc]
            languages=languages,
            current_country=country,
            current_city=city,
            documents_held=self._documents_held(country),
            gender=plan.gender,
            # Every other client has the passport's spelling on file; the others' letters use
            # the conventional name or the ICAO transliteration.
            birth_place_latin=icao(birth_place) if plan.index % 2 else "",
            **self._special(plan),
        )
        names = [
            ClientName(kind=ClientName.Kind.LEGAL, script="cyrl", family_name=p.family,
                       given_names=p.given, patronymic=p.patronymic),
            ClientName(kind=ClientName.Kind.TRANSLITERATION, script="latn",
                       family_name=icao(p.family), given_names=icao(p.given),
                       patronymic=icao(p.patronymic)),
        ]  # fmt: skip
        dest = authority.country.code if authority else ""
        # Files bound for France or Germany, or clients living there, carry the local spelling.
        spellings = {"FR": p.alias_fr, "DE": p.alias_de}
        alias = spellings.get(dest) or spellings.get(country)
        registered = None
        if alias:
            names.append(
                ClientName(
                    kind=ClientName.Kind.ALIAS,
                    script="latn",
                    family_name=alias,
                    given_names=icao(p.given),
                )
            )
            # The French or German authority registered this spelling: its letters use it.
            if spellings.get(dest) == alias:
                registered = names[-1]
        summary = (
            SUMMARY[plan.grounds[0]]
            + " "
            + KIND_SUMMARY[plan.kind].format(auth=authority.short_name if authority else "UNHCR")
        )
        case = Case(
            kind=plan.kind,
            destination_country=dest,
            authority=authority,
            risk=plan.risk,
            summary=summary,
            opened_at=plan.opened_at,
            letter_name=registered,  # saved with the names, before the case (case_open)
        )
        case = services.case_open(
            organisation=org,
            client=client,
            names=names,
            case=case,
            grounds=[grounds[g] for g in plan.grounds],
            by=coordinator,
        )
        self._stamp(case, opened)
        assignees = [worker] + ([self.users["volunteer"]] if plan.volunteer else [])
        services.case_assign(case=case, users=assignees, by=coordinator)
        assigned = opened + timedelta(minutes=20)
        Assignment.objects.filter(case=case).update(assigned_at=assigned)
        self._stamp(case, assigned)
        self._contacts(client, plan)
        self._person_facts(client, plan, languages)

        steps = self._path(plan)
        step_days = self._step_days(plan, len(steps))
        status_day = dict(zip(steps, step_days, strict=True))
        self._consents(case, plan, worker, status_day, opened + timedelta(minutes=40))
        taken = {p.given}
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            services.relative_add(case=case, relative=self._relative(plan, taken), by=worker)
            day = plan.opened_at + timedelta(days=rng.randint(0, 3))
            self._stamp(case, max(self._at(day), opened + timedelta(hours=1)))
        previous = opened + timedelta(hours=1)
        for status, day in zip(steps, step_days, strict=True):
            by = coordinator if status in (S.LETTER_ISSUED, S.CLOSED) else worker
            services.case_change_status(case=case, status=status, by=by)
            previous = max(self._at(day), previous + timedelta(minutes=5))
            self._stamp(case, previous)
        if case.status == S.CLOSED:
            Case.objects.filter(pk=case.pk).update(closed_at=status_day[S.CLOSED])
        self._events(case, plan, authority, country, worker, status_day, opened)
        self._arrival(case, plan, authority, worker)
        self._checklist(case, plan, authority, worker)
        for body in rng.sample(NOTES, rng.randint(1, 3)):
            note = services.note_add(case=case, body=body, by=worker)
            at = self._at(self._day_between(plan.opened_at + timedelta(days=1), self.today))
            Note.objects.filter(pk=note.pk).update(created_at=at)
            self._stamp(case, at)
        if plan.share:
            self._share(case, plan, coordinator)
        if plan.document:
            self._document(case, plan, worker, step_days)
        if authority is not None:
            self._references(case, plan, authority, worker, status_day)
            self._stamp(case, self._at(step_days[0] if step_days else plan.opened_at))
        self._statements(case, plan, authority, worker, registered)
        self._stamp(case, self._at(step_days[0] if step_days else plan.opened_at))
        self._letters(case, plan, authority, worker, coordinator)

    # --- what letters need ------------------------------------------------------------------

    def _references(self, case, plan: Plan, authority, worker, status_day: dict) -> None:
        """The authority's file numbers, in their real formats (the numbers are invented); an
        appeal adds the court's. Made through the service, which indexes them for search."""
        rng = self.rng
        yy = plan.opened_at.year % 100
        code, status = authority.code, plan.status
        refs: dict[str, dict] = {}

        def ofpra() -> None:
            refs["ofpra"] = {"value": f"{yy:02d}{rng.randint(0, 99_999_999):08d}"}

        def bamf() -> None:
            refs["bamf"] = {"value": f"{rng.randint(8_000_000, 8_999_999)}-160"}

        def a_number() -> str:
            value = f"A {rng.randint(200, 249)}-{rng.randint(0, 999):03d}-{rng.randint(0, 999):03d}"
            refs["a_number"] = {"value": value}
            return value

        def eoir(court: str) -> None:
            hearing = None
            if status in PENDING_STATUSES:
                hearing = self.today + timedelta(days=rng.randint(30, 150))
            refs["eoir"] = {
                "value": refs["a_number"]["value"] if "a_number" in refs else a_number(),
                "court": court,
                "judge": rng.choice(JUDGES),
                "date": hearing,
            }

        # The OFPRA decision a CNDA appeal is against: before the case for an appeal brought
        # to us, the case's own refusal for an OFPRA case that went on to appeal.
        decided = plan.opened_at - timedelta(days=rng.randint(10, 40))
        if code == "ofpra":
            decided = status_day.get(S.REFUSED, decided)
        if code in ("ofpra", "cnda", "ta-nancy"):
            ofpra()
        if code == "cnda" or (code == "ofpra" and status == S.APPEAL):
            cnda = f"{yy:02d}{rng.randint(0, 999_999):06d}"
            refs["cnda"] = {"value": cnda, "date": decided}
        if code == "ta-nancy":
            refs["vg"] = {
                "value": f"{yy:02d}0{rng.randint(1000, 9999)}",
                "court": authority.name,
            }
        if code in ("bamf", "vg-berlin"):
            bamf()
        if code == "vg-berlin" or (code == "bamf" and status == S.APPEAL):
            refs["vg"] = {
                "value": f"VG {rng.randint(1, 40)} K {rng.randint(100, 999)}/{yy:02d} A",
                "court": "Verwaltungsgericht Berlin",
            }
        if code in ("uscis", "eoir"):
            a_number()
        if code == "uscis":
            refs["uscis_receipt"] = {"value": f"ZAR{yy:02d}{rng.randint(0, 99_999_999):08d}"}
            if status == S.APPEAL:  # referred to the immigration court
                eoir("New York – Broadway Immigration Court")
        if authority.kind == Authority.Kind.IMMIGRATION_COURT:
            a_number()
            eoir(authority.name)
        if code == "uk-home-office":
            refs["home_office"] = {"value": f"R{rng.randint(1_000_000, 9_999_999)}"}
        if code in UNHCR_PREFIX:
            number = f"{UNHCR_PREFIX[code]}-{yy:02d}C{rng.randint(0, 99_999):05d}"
            refs["unhcr"] = {"value": number}
        for kind, fields in refs.items():
            services.reference_save(
                case=case, reference=CaseReference(kind=kind, **fields), by=worker
            )

    def _statements(self, case, plan: Plan, authority, worker, registered) -> None:
        """The statement for letters in Russian and in the addressee's language."""
        p = plan.person
        year = (plan.opened_at - timedelta(days=60)).year
        latin = f"{icao(p.given)} {registered.family_name if registered else icao(p.family)}"
        languages = ["ru"]
        if authority is not None and authority.language != "ru":
            languages.insert(0, authority.language)
        for language in languages:
            name = f"{p.given} {p.family}" if language == "ru" else latin
            text = statement_text(
                plan.grounds[0], language, gender=plan.gender, name=name, year=year
            )
            services.statement_save(case=case, language=language, text=text, by=worker)

    def _letters(self, case, plan: Plan, authority, worker, coordinator) -> None:
        """The support letter written for the case's addressee, through the letters' services as
        the caseworker and the coordinator would: issued (numbered, waiting for the worker to
        render it) once the case is past "letter issued", drafted or in review while it is
        requested."""
        if authority is None or plan.kind not in LETTER_KINDS:
            return
        if plan.status not in (*ISSUED_STATUSES, S.LETTER_REQUESTED):
            return
        template = fitting_template(authority)
        if template is None:
            raise DemoError(f"No letter template fits “{authority.code}” (run migrate first).")
        letter = letter_services.letter_draft(
            case=case, template=template, authority=authority, by=worker
        )
        if plan.status == S.LETTER_REQUESTED:
            if plan.index % 2:  # the others wait for the caseworker to finish them
                letter_services.letter_submit(letter=letter, by=worker)
            return
        letter_services.letter_submit(letter=letter, by=worker)
        # Most letters are signed by the default signer; every fourth by the deputy.
        deputy = next((s for s in self._signers if not s.is_default), None)
        signer = deputy if self._issued % 4 == 3 else None
        letter_services.letter_approve(
            letter=letter, by=coordinator, text_hash=letter.text_hash, signer=signer
        )
        letter_services.letters_issue(letters=[letter], by=coordinator)
        self._issued += 1

    def _step_days(self, plan: Plan, n: int) -> list[date]:
        """Days of the status changes: the first the day after opening, the last a little
        before today, the others evenly between."""
        if not n:
            return []
        age = (self.today - plan.opened_at).days
        first = plan.opened_at + timedelta(days=1)
        last = max(first, self.today - timedelta(days=self.rng.randint(2, max(2, age // 5))))
        span = (last - first).days
        return [first + timedelta(days=round(span * k / max(n - 1, 1))) for k in range(n)]

    def _day_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max((end - start).days, 0)))

    def _whereabouts(self, plan: Plan, authority) -> tuple[str, str]:
        rng = self.rng
        if authority is None:
            if rng.random() < 0.5:
                return "RU", "не указан"
            country = rng.choice(list(TRANSIT))
            return country, rng.choice(TRANSIT[country])
        code = authority.country.code
        if code in DESTINATION_CITIES and (
            plan.kind in (Case.Kind.APPEAL, Case.Kind.ASYLUM_CLAIM) or rng.random() < 0.5
        ):
            return code, rng.choice(DESTINATION_CITIES[code])
        if code in TRANSIT:
            return code, rng.choice(TRANSIT[code])
        country = rng.choice(list(TRANSIT))
        return country, rng.choice(TRANSIT[country])

    def _documents_held(self, country: str) -> str:
        D = Client.DocumentsHeld
        if country in ("KZ", "AM"):  # reachable with an internal passport
            return self.rng.choice(
                [D.INTERNAL_PASSPORT, D.INTERNAL_PASSPORT, D.FOREIGN_PASSPORT, D.NONE]
            )
        if country == "RU":
            return self.rng.choice([D.INTERNAL_PASSPORT, D.NONE])
        return self.rng.choice([D.FOREIGN_PASSPORT, D.FOREIGN_PASSPORT, D.FOREIGN_PASSPORT, D.NONE])

    def _special(self, plan: Plan) -> dict:
        rng = self.rng
        p = plan.person
        out: dict[str, str] = {}
        for ground in plan.grounds:
            if ground == "sogi":
                out["orientation"] = _gendered(rng.choice(ORIENTATION), p.female)
            elif ground == "religion":
                muslim = p.group in ("caucasus", "central", "tatar")
                text = rng.choice(RELIGION_MUSLIM if muslim else RELIGION_OTHER)
                out["religion"] = _gendered(text, p.female)
            elif ground == "political":
                out["political_activity"] = rng.choice(POLITICAL)
            elif ground == "military":
                out["criminal_case"] = rng.choice(MILITARY)
            elif ground == "business":
                out["criminal_case"] = rng.choice(BUSINESS)
            elif ground == "ethnicity":
                if rng.random() < 0.6:
                    out.setdefault("criminal_case", rng.choice(ETHNICITY_CRIMINAL))
                else:
                    out["health"] = HEALTH[0]
            elif ground == "other":
                out["health"] = rng.choice(HEALTH[1:])
        if "health" not in out and rng.random() < 0.15:
            out["health"] = rng.choice(HEALTH)
        return out

    def _contacts(self, client: Client, plan: Plan):
        rng = self.rng
        slug = icao(plan.pseudonym.split()[-1]).lower().replace("-", "")
        kinds = rng.sample(["signal", "telegram", "phone", "email", "whatsapp"], 2)
        if rng.random() < 0.6:
            kinds = ["signal", *[k for k in kinds if k != "signal"]]
        for kind in kinds[: rng.choice([1, 2, 2])]:
            if kind == "telegram":
                value = f"@pristan_demo_{slug}"
            elif kind == "email":
                value = f"client-{slug}@example.org"
            else:
                value = self._phone()
            note = rng.choice(SAFETY_NOTES[kind])
            safe = SAFE_USES.get(note) if note else SAFE_USES_WITHOUT_NOTE.get(kind, [])
            ContactChannel.objects.create(
                client=client,
                kind=kind,
                value=value,
                safety_note=note,
                **{use: True for use in safe or []},
            )

    def _person_facts(self, client: Client, plan: Plan, languages: str) -> None:
        """Interpreter, vulnerabilities and identity phrase. A random generator of its own, so
        that the rest of the demo stays as it was before these facts existed."""
        rng = random.Random(self.seed * 1000 + plan.index)
        first = languages.split(",")[0].strip()
        code = INTERPRETER_CODES.get(first, "other")
        client.interpreter_language = code
        client.interpreter_language_other = first if code == "other" else ""
        if code in DIALECTS and rng.random() < 0.5:
            client.interpreter_dialect = rng.choice(DIALECTS[code])
        if rng.random() < 0.35:
            codes, note = rng.choice(VULNERABILITIES)
            client.vulnerabilities = codes
            client.vulnerability_note = note
            if "sgbv_survivor" in codes:
                client.interpreter_gender = Client.InterpreterGender.FEMALE
        if rng.random() < 0.5:
            client.identity_phrase = rng.choice(IDENTITY_PHRASES)
        if plan.index % 17 == 5:
            client.do_not_contact = True
            client.contact_note = "Only through the partner lawyer: the phone may be monitored."
        client.save()

    def _phone(self) -> str:
        """A number from a range reserved for fiction: Ofcom drama, ARCEP fiction, 555-01xx."""
        rng = self.rng
        return rng.choice(
            [
                f"+44 7700 900{rng.randint(0, 999):03d}",
                f"+33 6 39 98 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}",
                f"+1 202 555 01{rng.randint(0, 99):02d}",
            ]
        )

    def _consents(self, case, plan: Plan, worker, status_day: dict, at: datetime):
        """Consents to the case file and to letters, given at intake (there is no service for
        them: rows and a history entry, as the admin would record them)."""
        rng = self.rng
        purposes = [Consent.Purpose.CASEWORK, Consent.Purpose.LETTERS]
        if rng.random() < 0.5 or plan.withdraw == Consent.Purpose.STATISTICS:
            purposes.append(Consent.Purpose.STATISTICS)
        for purpose in purposes:
            withdrawn = None
            if purpose == plan.withdraw:
                withdrawn = status_day.get(S.CLOSED) or self._day_between(
                    plan.opened_at + timedelta(days=1), self.today
                )
            Consent.objects.create(
                case=case,
                purpose=purpose,
                given_on=plan.opened_at,
                withdrawn_on=withdrawn,
                recorded_by=worker,
            )
            case.log(worker, CaseLogEntry.Action.CONSENT, purpose)
            self._stamp(case, at)

    def _relative(self, plan: Plan, taken: set) -> Relative:
        rng = self.rng
        p = plan.person
        group = GROUPS[p.group]
        R = Relative.Relation
        relation = rng.choice([R.SPOUSE, R.CHILD, R.CHILD, R.PARENT, R.SIBLING])
        male_family = p.family
        if p.female and p.family.endswith("а") and feminine(p.family[:-1]) == p.family:
            male_family = p.family[:-1]
        born = p.birth_date.year
        if relation == R.SPOUSE:
            female, year = not p.female, born + rng.randint(-5, 5)
        elif relation == R.CHILD:
            female, year = rng.random() < 0.5, born + rng.randint(20, 38)
        elif relation == R.PARENT:
            female, year = rng.random() < 0.6, born - rng.randint(20, 38)
        else:
            female, year = rng.random() < 0.5, born + rng.randint(-8, 8)
        year = min(year, self.today.year - 1)
        family = feminine(male_family) if female else male_family
        given = rng.choice([g for g in (group.female if female else group.male) if g not in taken])
        taken.add(given)
        with_client = relation in (R.SPOUSE, R.CHILD) and rng.random() < 0.7
        location = (
            "Вместе с клиентом" if with_client else f"Россия, {rng.choice(group.birthplaces)}"
        )
        return Relative(
            relation=relation,
            full_name=f"{family} {given}",
            birth_date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
            location=location,
            in_household=with_client,
        )

    def _path(self, plan: Plan) -> list[str]:
        """The status changes from intake to the planned status, along Case.TRANSITIONS."""
        with_letter = plan.kind in LETTER_KINDS
        to_decision: list[str] = [S.ACTIVE]
        if with_letter:
            to_decision += [S.LETTER_REQUESTED, S.LETTER_ISSUED]
        to_decision += [S.AWAITING_DECISION]
        target = plan.status
        if target == S.INTAKE:
            return []
        if target in (S.ACTIVE, S.LETTER_REQUESTED, S.LETTER_ISSUED):
            full: list[str] = [S.ACTIVE, S.LETTER_REQUESTED, S.LETTER_ISSUED]
            return full[: full.index(target) + 1]
        if target == S.AWAITING_DECISION:
            return to_decision
        if target in (S.GRANTED, S.REFUSED):
            return [*to_decision, target]
        if target == S.APPEAL:
            return [*to_decision, S.REFUSED, S.APPEAL]
        # Closed: most after a grant; some because the client stopped the work.
        if plan.withdraw == Consent.Purpose.LETTERS or plan.index % 3 == 0:
            return [S.ACTIVE, S.CLOSED]
        return [*to_decision, S.GRANTED, S.CLOSED]

    def _events(self, case, plan: Plan, authority, country: str, worker, status_day, opened):
        rng = self.rng
        steps = EVENT_PLANS[plan.status]
        if plan.status == S.CLOSED and S.AWAITING_DECISION not in status_day:
            steps = [("other", "past", True)]  # closed before any decision
        yesterday = self.today - timedelta(days=1)
        start = min(plan.opened_at + timedelta(days=1), yesterday)
        for kind, when, done in steps[: rng.randint(1, len(steps))]:
            if kind == "decision":
                self._decision(case, plan, authority, worker, status_day, start, opened)
                continue
            if kind == "appeal_deadline" and case.events.filter(source__isnull=False).exists():
                continue  # the rule has computed it from the decision
            if when == "past":
                day = self._past_event_day(kind, plan, status_day) or self._day_between(
                    start, yesterday
                )
                day = max(start, min(day, yesterday))
            elif when == "overdue":
                day = max(start, self.today - timedelta(days=rng.randint(1, 12)))
            elif when == "soon":
                day = self.today + timedelta(days=rng.randint(0, 14))
            else:
                day = self.today + timedelta(days=rng.randint(15, 150))
            title, location, at = self._event_text(kind, plan, authority, country)
            event = services.event_add(
                case=case,
                event=Event(kind=kind, title=title, date=day, time=at, location=location),
                by=worker,
            )
            added = max(plan.opened_at, min(day, self.today) - timedelta(days=rng.randint(5, 40)))
            self._stamp(case, max(self._at(added), opened + timedelta(hours=2)))
            if done:
                services.event_mark_done(event=event, by=worker)
                self._stamp(case, self._at(day, 18))

    def _decision(self, case, plan: Plan, authority, worker, status_day, start, opened) -> None:
        """The decision, with its outcome: a deadline rule computes the appeal deadline from it
        (casework.deadlines). A refusal is recent, so that its appeal deadline comes in the next
        days and shows on the dashboard; after an appeal, a grant or the end of the case, the
        computed deadline is done."""
        rng = self.rng
        outcome = Event.Outcome.REFUSED
        if plan.status == S.GRANTED:
            outcome = Event.Outcome.GRANTED
        elif authority is not None and authority.code == "bamf" and plan.index % 2:
            outcome = Event.Outcome.MANIFESTLY_UNFOUNDED
        yesterday = self.today - timedelta(days=1)
        day = self._past_event_day("decision", plan, status_day) or yesterday
        rule = deadlines.rule_for(Event(case=case, kind="decision", outcome=outcome, date=day))
        if plan.status == S.REFUSED and rule is not None:
            span = (deadlines.due_date(rule, self.today).date - self.today).days
            day = self.today - timedelta(days=span - rng.randint(2, 9))
        day = max(start, min(day, yesterday))
        title, location, at = self._event_text("decision", plan, authority, "")
        event = services.event_add(
            case=case,
            event=Event(
                kind="decision", title=title, date=day, time=at, location=location, outcome=outcome
            ),
            by=worker,
        )
        self._stamp(case, max(self._at(day, 12), opened + timedelta(hours=2)))
        services.event_mark_done(event=event, by=worker)
        if plan.status != S.REFUSED:
            for computed in event.computed.all():
                services.event_mark_done(event=computed, by=worker)

    def _arrival(self, case, plan: Plan, authority, worker) -> None:
        """A client bound for USCIS arrived in the United States about a year ago: the one-year
        rule computes the I-589 filing deadline from the arrival. Before the claim is filed
        (letter issued and later) that deadline is near, after it, done."""
        if authority is None or authority.code != "uscis" or plan.status == S.CLOSED:
            return
        event = Event(case=case, kind="arrival", date=self.today)
        rule = deadlines.rule_for(event)
        if rule is None:
            return
        span = (deadlines.due_date(rule, self.today).date - self.today).days
        filed = plan.status not in (S.INTAKE, S.ACTIVE, S.LETTER_REQUESTED)
        days_left = self.rng.randint(40, 120) if filed else self.rng.randint(3, 12)
        event.date = self.today - timedelta(days=span - days_left)
        event.title = "Въезд в США"
        event = services.event_add(case=case, event=event, by=worker)
        services.event_mark_done(event=event, by=worker)
        if filed:
            for computed in event.computed.all():
                services.event_mark_done(event=computed, by=worker)

    def _checklist(self, case, plan: Plan, authority, worker) -> None:
        """Every other case before the authority that has a shipped procedure goes through it:
        its checklist partly filled (the first documents in hand, the rest missing)."""
        name = PROCEDURE_FOR_AUTHORITY.get(authority.code) if authority is not None else None
        if name is None or plan.index % 2:
            return
        procedure = Procedure.objects.filter(organisation=None, name=name).first()
        if procedure is None:
            return
        case_procedure = services.case_procedure_add(case=case, procedure=procedure, by=worker)
        items = list(procedure.items.all())
        have = self.rng.randint(1, max(1, len(items) - 2))
        states: dict[int, tuple[str, list[Document] | None]] = {}
        for position, item in enumerate(items):
            state = ChecklistEntry.State.HAVE if position < have else ChecklistEntry.State.MISSING
            states[item.pk] = (state, None)
        if len(items) > 4:
            states[items[-1].pk] = (ChecklistEntry.State.NOT_APPLICABLE, None)
        services.checklist_save(case_procedure=case_procedure, states=states, by=worker)

    def _past_event_day(self, kind, plan: Plan, status_day: dict) -> date | None:
        rng = self.rng
        decided = status_day.get(S.GRANTED) or status_day.get(S.REFUSED)
        if kind == "decision" and decided:
            return decided
        if kind == "appeal_deadline" and S.APPEAL in status_day:
            return status_day[S.APPEAL] + timedelta(days=rng.randint(1, 10))
        if kind == "interview" and S.AWAITING_DECISION in status_day:
            waiting = status_day[S.AWAITING_DECISION]
            end = decided or self.today
            return waiting + timedelta(days=max(1, (end - waiting).days // 2))
        if kind == "submission" and S.LETTER_ISSUED in status_day:
            return status_day[S.LETTER_ISSUED] + timedelta(days=rng.randint(1, 5))
        return None

    def _event_text(self, kind, plan: Plan, authority, country):
        rng = self.rng
        auth = authority.short_name if authority else ""
        place = AUTHORITY_PLACE.get(authority.code, "") if authority else ""
        # After a refusal, hearings and deadlines concern the body that hears the appeal.
        appeal_auth, appeal_place = auth, place
        if authority and authority.code in APPEAL_BODY:
            appeal_auth, appeal_place = APPEAL_BODY[authority.code]
        is_court = authority is not None and authority.kind in COURT_KINDS
        if kind == "interview" and not is_court:
            at = time(rng.choice([9, 10, 14]), rng.choice([0, 30]))
            return (f"Интервью в {auth}" if auth else "Интервью"), place, at
        if kind in ("interview", "hearing"):
            at = time(rng.choice([9, 13, 15]), 0)
            return (f"Заседание {appeal_auth}" if auth else "Заседание суда"), appeal_place, at
        if kind == "appeal_deadline":
            return f"Последний день подачи жалобы в {appeal_auth}".strip(), "", None
        if kind == "stay_expiry":
            where = COUNTRY_RU.get(country, "стране пребывания")
            return f"Истекает срок законного пребывания в {where}", "", None
        if kind == "submission":
            if plan.status == S.APPEAL:
                return f"Дополнительные материалы в {appeal_auth}", "", None
            if auth:
                return f"Отправить письмо и документы в {auth}", "", None
            return "Передать документы адвокату", "", None
        if kind == "decision":
            return f"Получено решение {auth}".strip(), "", None
        return rng.choice(
            [
                ("Созвон с клиентом (Signal)", "онлайн", time(11, 0)),
                ("Консультация юриста-партнёра", "онлайн", time(17, 30)),
                ("Встреча с волонтёром по жилью", "", None),
            ]
        )

    def _share(self, case, plan: Plan, coordinator):
        rng = self.rng
        lawyer = self.users["lawyer"]
        if plan.share == "expired":
            start = max(plan.opened_at, self.today - timedelta(days=70))
        else:
            start = max(plan.opened_at, self.today - timedelta(days=rng.randint(1, 20)))
        # No referral without the client's consent to sharing (casework.referrals).
        Consent.objects.create(
            case=case, purpose=Consent.Purpose.SHARING, given_on=start, recorded_by=coordinator
        )
        case.log(coordinator, CaseLogEntry.Action.CONSENT, Consent.Purpose.SHARING)
        if plan.share == "expired":
            # Made directly: the service is for referrals that start now; this one ran out.
            share = Share.objects.create(
                case=case,
                lawyer=lawyer,
                created_by=coordinator,
                message=DEMO_REFERRAL_MESSAGE,
                expires_at=self.now - timedelta(days=10),
                status=Share.Status.EXPIRED,
                ended_at=self.now - timedelta(days=10),
            )
            case.log(coordinator, CaseLogEntry.Action.REFERRAL, lawyer.get_username())
        else:
            share = referrals.referral_offer(
                case=case,
                lawyer=lawyer,
                message=DEMO_REFERRAL_MESSAGE,
                by=coordinator,
                ends_at=self.now + timedelta(days=rng.randint(30, 90)),
            )
            referrals.referral_accept(share=share, by=lawyer)
        at = self._at(start)
        Share.objects.filter(pk=share.pk).update(created_at=at, responded_at=at)
        self._stamp(case, at)

    def _document(self, case, plan: Plan, worker, step_days: list[date]):
        if plan.document is None:  # called for the plans that have one
            raise ValueError(f"plan {plan.index} has no document")
        doc_kind, title = plan.document
        if self._pdf_fetcher is None:
            # No file:// and no network: the demo PDF needs nothing from outside.
            self._pdf_fetcher = weasyprint.URLFetcher(allowed_protocols=())
        pdf = weasyprint.HTML(
            string=PDF_HTML.format(title=title), url_fetcher=self._pdf_fetcher
        ).write_pdf()
        upload = SimpleUploadedFile("demo.pdf", pdf, content_type="application/pdf")
        content_type = validate_upload(upload, max_bytes=settings.DOCUMENT_MAX_BYTES)
        document = services.document_upload(
            case=case,
            upload=upload,
            kind=doc_kind,
            title=title,
            content_type=content_type,
            by=worker,
        )
        day = (step_days[-1] if step_days else plan.opened_at) + timedelta(days=2)
        at = self._at(min(day, self.today))
        Document.objects.filter(pk=document.pk).update(uploaded_at=at)
        self._stamp(case, at)
