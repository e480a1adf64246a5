"""Plain factories for tests: functions with keyword arguments and sensible fictional defaults."""

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_otp.oath import TOTP

from accounts.models import TOTPDevice
from casework.models import (
    Assignment,
    Authority,
    Case,
    CaseStatement,
    Client,
    ClientName,
    Consent,
    Event,
    Membership,
    Note,
    Organisation,
    Share,
)
from letters.models import OrganisationIdentity, Signer

User = get_user_model()
_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


RUSSIAN_ORG_NAME = "Тестовый комитет помощи беженцам"
GERMAN_WORD = "Größe"
# The statement for letters a test case has in French: what French letters' facts start from.
FACTS_FR = f"Il nous a écrit en détail. Taille de la {GERMAN_WORD} : moyenne."
SIGNER_TITLES = {"ru": "председатель", "en": "Chair", "fr": "présidente", "de": "Vorsitzende"}


def make_organisation(*, name="Test Refugee Committee", letters=True) -> Organisation:
    """An organisation; with `letters`, one that can sign letters in every letter language: an
    identity per language (the French one shows the Russian name in the letterhead) and a
    default signer."""
    organisation = Organisation.objects.create(name=name, short_name="TRC")
    if letters:
        for language in ("ru", "en", "fr", "de"):
            OrganisationIdentity.objects.create(
                organisation=organisation,
                language=language,
                name=RUSSIAN_ORG_NAME if language == "ru" else name,
                address="1 Example Street\n00000 Example City",
                email="office@example.org",
                show_russian_name=language == "fr",
            )
        Signer.objects.create(
            organisation=organisation,
            name_latin="Maria Example",
            name_cyrillic="Мария Пример",
            is_default=True,
            **{f"title_{language}": title for language, title in SIGNER_TITLES.items()},
        )
    return organisation


def make_user(*, organisation, role, username=None, special=False, **extra):
    username = username or f"{role}{next(_seq)}"
    user = User.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.org", **extra
    )
    Membership.objects.create(
        user=user, organisation=organisation, role=role, special_category_access=special
    )
    return user


def make_org_administrator(*, organisation, username=None):
    """An organisation's administrator as a server with several organisations has them: staff
    with the model permissions of the admin, not a superuser."""
    user = make_user(
        organisation=organisation,
        role=Membership.Role.ADMINISTRATOR,
        username=username,
        is_staff=True,
    )
    apps = ["accounts", "auth", "casework", "letters"]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=apps))
    return User.objects.get(pk=user.pk)  # without the cached permissions


def make_case(
    *,
    organisation,
    assignees=(),
    family_name="Zuganshin",
    given_names="Rustam",
    cyrillic=("Зуганшин", "Рустам"),
    pseudonym=None,
    status=Case.Status.ACTIVE,
    authority_code="ofpra",
    consents=(Consent.Purpose.CASEWORK, Consent.Purpose.LETTERS),
    statements: dict[str, str] | None = None,
    **fields,
) -> Case:
    """A client and their case; the client has consented to `consents` (letters need one), and
    the case has `statements` for letters (by default the French FACTS_FR)."""
    n = next(_seq)
    client = Client.objects.create(
        organisation=organisation,
        pseudonym=pseudonym or f"Client {n}",
        orientation="SPECIAL-ORIENTATION-MARKER",
        criminal_case="SPECIAL-CRIMINAL-MARKER",
    )
    if cyrillic:
        ClientName.objects.create(
            client=client, script="cyrl", family_name=cyrillic[0], given_names=cyrillic[1]
        )
    ClientName.objects.create(
        client=client,
        kind=ClientName.Kind.TRANSLITERATION,
        script="latn",
        family_name=family_name,
        given_names=given_names,
    )
    client.reindex_names()
    case = Case.objects.create(
        organisation=organisation,
        client=client,
        reference=fields.pop("reference", None) or f"2026-{n:04d}",
        kind=fields.pop("kind", Case.Kind.SUPPORT_LETTER),
        status=status,
        authority=Authority.objects.filter(code=authority_code).first(),
        **fields,
    )
    for user in assignees:
        Assignment.objects.create(case=case, user=user)
    for purpose in consents:
        Consent.objects.create(case=case, purpose=purpose)
    for language, text in ({"fr": FACTS_FR} if statements is None else statements).items():
        CaseStatement.objects.create(case=case, language=language, text=text)
    return case


def make_share(*, case, lawyer, days=30, status=Share.Status.ACCEPTED, **fields) -> Share:
    """A referral to a lawyer, accepted unless told otherwise (a past end date with an open
    status is one the hourly job has not marked expired yet)."""
    return Share.objects.create(
        case=case,
        lawyer=lawyer,
        expires_at=timezone.now() + timedelta(days=days),
        status=status,
        **fields,
    )


def make_event(*, case, days=3, kind=Event.Kind.APPEAL_DEADLINE, **fields) -> Event:
    return Event.objects.create(
        case=case,
        kind=kind,
        title=fields.pop("title", "Appeal to the CNDA"),
        date=timezone.localdate() + timedelta(days=days),
        is_deadline=fields.pop("is_deadline", kind in Event.DEADLINE_KINDS),
        **fields,
    )


def make_note(*, case, author, body="Called on Signal, all fine.") -> Note:
    return Note.objects.create(case=case, author=author, body=body)


def make_totp_device(*, user) -> TOTPDevice:
    """The user's confirmed authenticator (created once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def totp_code(device: TOTPDevice, *, steps: int = 0) -> str:
    """The code the user's app shows now (or `steps` time steps later), as typed. django-otp
    accepts each code once: a second login of the same user within 30 s needs `steps=1`."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + steps * device.step
    return f"{totp.token():0{device.digits}d}"
