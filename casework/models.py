"""The case file: organisations and their members, clients, cases and what happens on them.

Who may see which case is decided in one place, `CaseQuerySet.visible_to`; every other
queryset of case data (clients, notes, documents…) is derived from it.
"""

import operator
import secrets
from collections.abc import Sequence
from datetime import date
from functools import reduce
from typing import cast
from urllib.parse import quote

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from casework.capabilities import Capability, capabilities_of
from casework.names import name_index
from core.choices import FastChoiceDisplay
from core.fields import (
    EncryptedChoiceListField,
    EncryptedDateField,
    EncryptedTextField,
    crypto_id_field,
)
from core.uploads import name_for_type


def numbered(obj: models.Model, detail: object = "") -> str:
    """What `__str__` returns for rows that hold client data: the kind of row, its id and at
    most a label from a fixed list ("Event #3 (Hearing)"), never their content. Django admin
    writes str() of every object it adds, changes or deletes, and of every inline row, into
    its history (django_admin_log) in clear, and shows it in messages and page titles; screens
    that need a name or a title ask for it explicitly."""
    text = f"{capfirst(obj._meta.verbose_name)} #{obj.pk}"
    return f"{text} ({detail})" if detail else text


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    address = models.TextField(_("postal address"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    website = models.URLField(_("website"), blank=True)
    letter_signer_name = models.CharField(_("signer of letters"), max_length=200, blank=True)
    letter_signer_title = models.CharField(_("signer's position"), max_length=200, blank=True)
    letter_number_format = models.CharField(
        _("letter number format"),
        max_length=50,
        default="{year}/{number}",
        help_text=_("With {year} and {number}; e.g. {year}/{number:04d} gives 2026/0042."),
    )
    logo = models.ImageField(_("logo for the letterhead"), upload_to="branding/", blank=True)
    signature_image = models.ImageField(_("signature image"), upload_to="branding/", blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Membership(FastChoiceDisplay, models.Model):
    """A user's place in an organisation: exactly one role, which grants capabilities."""

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", _("Administrator")
        COORDINATOR = "coordinator", _("Coordinator")
        CASEWORKER = "caseworker", _("Caseworker")
        VOLUNTEER = "volunteer", _("Volunteer")
        LAWYER = "lawyer", _("Partner lawyer")
        AUDITOR = "auditor", _("Auditor")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    special_category_access = models.BooleanField(
        _("may see special-category data"),
        default=False,
        help_text=_(
            "Extra permission for caseworkers and partner lawyers to see orientation, religion, "
            "political activity, health and criminal-case details. Coordinators and "
            "administrators always have it; volunteers and auditors never do."
        ),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return capabilities_of(self.role, special_category_access=self.special_category_access)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


class AuthorityQuerySet(models.QuerySet["Authority"]):
    def for_organisation(self, organisation_id: int | None) -> "AuthorityQuerySet":
        """The addressees an organisation writes to: the shared ones and its own."""
        return self.filter(models.Q(organisation=None) | models.Q(organisation_id=organisation_id))


class Authority(FastChoiceDisplay, models.Model):
    """A recipient of letters: an asylum office, a court, a UNHCR office. Shared by every
    organisation (maintained by the installation's superusers) or an organisation's own."""

    class Kind(models.TextChoices):
        ASYLUM_OFFICE = "asylum_office", _("Asylum office")
        APPEAL_COURT = "appeal_court", _("Appeal court (asylum)")
        ADMINISTRATIVE_COURT = "administrative_court", _("Administrative court")
        IMMIGRATION_COURT = "immigration_court", _("Immigration court")
        MINISTRY = "ministry", _("Ministry or government office")
        UNHCR = "unhcr", _("UNHCR office")
        # Older rows only: the seeded courts now have one of the precise kinds above.
        COURT = "court", _("Court")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    short_name = models.CharField(_("short name"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    country = CountryField(_("country"))
    address = models.TextField(_("postal address"))
    language = models.CharField(
        _("language of correspondence"), max_length=2, choices=settings.LETTER_LANGUAGES
    )
    website = models.URLField(_("website"), blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="authorities",
        help_text=_("Empty: shared by every organisation."),
    )

    objects = AuthorityQuerySet.as_manager()

    class Meta:
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        ordering = ["short_name"]

    def __str__(self) -> str:
        return self.short_name


class Ground(FastChoiceDisplay, models.Model):
    """A ground of persecution; a fixed list, stored as rows so that cases can be filtered by it."""

    class Code(models.TextChoices):
        POLITICAL = "political", _("Political opinion")
        RELIGION = "religion", _("Religion")
        ETHNICITY = "ethnicity", _("Ethnicity")
        SOGI = "sogi", _("Sexual orientation / gender identity")
        MILITARY = "military", _("Refusal of military service or desertion")
        BUSINESS = "business", _("Persecution of business")
        OTHER = "other", _("Other")

    code = models.CharField(_("code"), max_length=20, choices=Code.choices, unique=True)

    class Meta:
        verbose_name = _("ground")
        verbose_name_plural = _("grounds")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.get_code_display())


class NameTokens(models.Func):
    """The blind-index hashes of a client as an array (PostgreSQL), to match the GIN index of
    migration 0005: `@>` then finds the clients with all of a query's hashes in an index
    lookup, where `LIKE '% hash %'` read every client's index text."""

    template = "string_to_array(%(expressions)s, ' ')"
    output_field = ArrayField(models.TextField())


class ClientQuerySet(models.QuerySet["Client"]):
    def visible_to(self, user) -> "ClientQuerySet":
        return self.filter(Exists(Case.objects.visible_to(user).filter(client=OuterRef("pk"))))

    def with_name_tokens(self, hashes: list[str]) -> "ClientQuerySet":
        """Clients whose blind index holds every one of `hashes` (casework.names)."""
        if connections[self.db].vendor == "postgresql":
            return self.alias(name_tokens=NameTokens("name_index")).filter(
                # django-stubs checks a lookup on an annotation as on a plain Field (text
                # `contains`); NameTokens is an array, whose `contains` (@>) takes a list.
                name_tokens__contains=hashes  # type: ignore[misc]
            )
        queryset = self
        for h in hashes:
            queryset = queryset.filter(name_index__contains=f" {h} ")
        return queryset

    def with_any_name_tokens(self, queries: Sequence[Sequence[str]]) -> "ClientQuerySet":
        """Clients whose blind index holds every hash of at least one of `queries`: many
        searches in one statement (a sheet's rows compared with the clients). No query, no
        client. On SQLite one hash is one parameter: callers keep under its limit."""
        if not queries:
            return self.none()
        if connections[self.db].vendor == "postgresql":
            # One GIN lookup per query, the ids collected first (ARRAY(…)) and then read by
            # primary key. As an OR of `@>`s the planner read every client instead, splitting
            # each index once per query: 70 s for 500 queries at 100,000 clients.
            # The hashes are a parameter; the table's name is the model's own.
            ids = RawSQL(  # noqa: S611
                "SELECT unnest(ARRAY(SELECT c.id FROM unnest(%s::text[]) AS q(hashes)"  # noqa: S608
                f" JOIN {self.model._meta.db_table} c ON"
                " string_to_array(c.name_index, ' ') @> string_to_array(q.hashes, ' ')))",
                ([" ".join(hashes) for hashes in queries],),
            )
            return self.filter(pk__in=ids)
        found = [Q(*(Q(name_index__contains=f" {h} ") for h in hashes)) for hashes in queries]
        return self.filter(reduce(operator.or_, found))


class Client(FastChoiceDisplay, models.Model):
    """The person the NGO helps. Lists show the pseudonym, never the legal name."""

    class DocumentsHeld(models.TextChoices):
        INTERNAL_PASSPORT = "internal", _("Internal passport only")
        FOREIGN_PASSPORT = "foreign", _("Foreign (travel) passport")
        NONE = "none", _("No identity documents")

    class Gender(models.TextChoices):
        """The form of address in letters (né/née, Herr/Frau, Mr/Ms); unknown or non-binary
        gives the neutral form."""

        FEMALE = "f", _("Female")
        MALE = "m", _("Male")
        NEUTRAL = "x", _("Non-binary / neutral form")

    class InterpreterLanguage(models.TextChoices):
        """The languages the NGO's clients speak (ISO 639 codes), and "other" with free text;
        "none" once someone has asked and no interpreter is needed (empty: nobody asked yet)."""

        NONE = "none", _("No interpreter needed")
        RUSSIAN = "ru", _("Russian")
        CHECHEN = "ce", _("Chechen")
        INGUSH = "inh", _("Ingush")
        AVAR = "av", _("Avar")
        TAJIK = "tg", _("Tajik")
        UZBEK = "uz", _("Uzbek")
        KYRGYZ = "ky", _("Kyrgyz")
        KAZAKH = "kk", _("Kazakh")
        TURKMEN = "tk", _("Turkmen")
        UKRAINIAN = "uk", _("Ukrainian")
        BELARUSIAN = "be", _("Belarusian")
        GEORGIAN = "ka", _("Georgian")
        ARMENIAN = "hy", _("Armenian")
        AZERBAIJANI = "az", _("Azerbaijani")
        TATAR = "tt", _("Tatar")
        BASHKIR = "ba", _("Bashkir")
        PERSIAN = "fa", _("Persian (Farsi, Dari)")
        PASHTO = "ps", _("Pashto")
        ARABIC = "ar", _("Arabic")
        KURDISH = "ku", _("Kurdish")
        TURKISH = "tr", _("Turkish")
        ENGLISH = "en", _("English")
        FRENCH = "fr", _("French")
        GERMAN = "de", _("German")
        OTHER = "other", _("Other (write it in)")

    class InterpreterGender(models.TextChoices):
        FEMALE = "f", _("A woman")
        MALE = "m", _("A man")

    class Vulnerability(models.TextChoices):
        MINOR = "minor", _("Minor")
        UNACCOMPANIED_MINOR = "unaccompanied_minor", _("Unaccompanied minor")
        DISABILITY = "disability", _("Disability")
        SERIOUS_ILLNESS = "serious_illness", _("Serious illness")
        TORTURE = "torture_survivor", _("Survivor of torture")
        SGBV = "sgbv_survivor", _("Survivor of sexual or gender-based violence")
        PREGNANCY = "pregnancy", _("Pregnancy")
        ELDERLY = "elderly", _("Elderly")
        SINGLE_PARENT = "single_parent", _("Single parent")
        TRAFFICKING = "trafficking_victim", _("Victim of trafficking")
        MENTAL_HEALTH = "mental_health", _("Mental-health needs")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clients")
    pseudonym = models.CharField(
        _("pseudonym"),
        max_length=100,
        help_text=_("Shown in lists and on screens others may see. Never the real name."),
    )
    birth_date = EncryptedDateField(_("date of birth"), null=True, blank=True)
    birth_place = EncryptedTextField(
        _("place of birth"), max_length=200, blank=True, single_line=True
    )
    birth_place_latin = EncryptedTextField(
        _("place of birth as in the passport"),
        max_length=200,
        blank=True,
        single_line=True,
        help_text=_("In Latin letters, exactly as the foreign passport writes it."),
    )
    gender = models.CharField(
        _("gender (form of address)"),
        max_length=1,
        choices=Gender.choices,
        blank=True,
        help_text=_("Empty: letters use the neutral form."),
    )
    citizenships = CountryField(_("citizenships"), multiple=True, blank=True)
    languages = models.CharField(
        _("languages"), max_length=200, blank=True, help_text=_("For example: Russian, Chechen")
    )
    current_country = CountryField(_("current country"), blank=True)
    current_city = EncryptedTextField(
        _("current city"), max_length=100, blank=True, single_line=True
    )
    documents_held = models.CharField(
        _("identity documents held"), max_length=20, choices=DocumentsHeld.choices, blank=True
    )
    # Special-category data (GDPR Art. 9 and criminal records): masked for roles without
    # Capability.VIEW_SPECIAL_CATEGORY, never shown to volunteers.
    orientation = EncryptedTextField(
        _("sexual orientation / gender identity"), blank=True, max_length=5000
    )
    religion = EncryptedTextField(_("religion"), blank=True, max_length=5000)
    political_activity = EncryptedTextField(_("political activity"), blank=True, max_length=5000)
    health = EncryptedTextField(_("health"), blank=True, max_length=5000)
    criminal_case = EncryptedTextField(_("criminal case at home"), blank=True, max_length=5000)
    # Special category too (health, and what happened to the person): a set of codes kept as
    # one encrypted list, so that a dump shows neither which nor how many.
    vulnerabilities = EncryptedChoiceListField(
        _("vulnerabilities"),
        item_choices=Vulnerability.choices,
        help_text=_("What the authorities and the team must take into account."),
    )
    vulnerability_note = EncryptedTextField(
        _("about the vulnerabilities"),
        blank=True,
        max_length=2000,
        help_text=_("e.g. medical certificate obtained; needs breaks during interviews"),
    )
    # Interpreting. The language is a plain choice, like `languages`; the rest is encrypted.
    interpreter_language = models.CharField(
        _("interpreter language"),
        max_length=10,
        choices=InterpreterLanguage.choices,
        blank=True,
        help_text=_("Empty: nobody has asked yet."),
    )
    interpreter_language_other = EncryptedTextField(
        _("other interpreter language"),
        max_length=100,
        blank=True,
        single_line=True,
        help_text=_("When the language is “Other”."),
    )
    interpreter_dialect = EncryptedTextField(
        _("dialect"),
        max_length=200,
        blank=True,
        single_line=True,
        help_text=_("e.g. Kist dialect of Chechen; speaks little Russian"),
    )
    # Encrypted: a wish for a woman interpreter can hint at what happened to the person.
    interpreter_gender = EncryptedTextField(
        _("interpreter preferred"),
        max_length=1,
        choices=InterpreterGender.choices,
        blank=True,
    )
    # How to reach the person safely (per channel: ContactChannel.may_call…).
    do_not_contact = models.BooleanField(
        _("do not contact the client directly"),
        default=False,
        help_text=_("No call, message, e-mail or letter; follow the note below."),
    )
    contact_note = EncryptedTextField(
        _("how to contact"),
        max_length=500,
        blank=True,
        help_text=_("e.g. only through her lawyer; only on Signal after 18:00"),
    )
    identity_phrase = EncryptedTextField(
        _("identity phrase"),
        max_length=200,
        blank=True,
        single_line=True,
        help_text=_(
            "Agreed with the client: ask for it when someone else answers, before saying who "
            "you are or why you call."
        ),
    )
    # Keyed hashes of the folded, transliterated name tokens and their prefixes (see
    # casework.names): search across scripts without the names in clear.
    name_index = models.TextField(editable=False, blank=True)
    crypto_id = crypto_id_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    SPECIAL_CATEGORY_FIELDS = (
        "orientation",
        "religion",
        "political_activity",
        "health",
        "criminal_case",
        "vulnerabilities",
        "vulnerability_note",
    )

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")

    def __str__(self) -> str:
        return numbered(self)

    @property
    def legal_name(self) -> str:
        first = next(iter(self.names.all()), None)
        return first.full_name if first else ""

    @property
    def vulnerability_labels(self) -> list[str]:
        field = cast(EncryptedChoiceListField, self._meta.get_field("vulnerabilities"))
        return field.labels(self.vulnerabilities)

    @property
    def interpreter_language_display(self) -> str:
        """The language to book an interpreter for, as the form recorded it."""
        if self.interpreter_language == self.InterpreterLanguage.OTHER:
            return self.interpreter_language_other or str(self.InterpreterLanguage.OTHER.label)
        return str(self.get_interpreter_language_display())

    def reindex_names(self) -> None:
        self.name_index = name_index(n.full_name for n in self.names.all())
        self.save(update_fields=["name_index"])


class ClientName(FastChoiceDisplay, models.Model):
    """One spelling of a client's name: the legal name in its own script, or a transliteration."""

    class Kind(models.TextChoices):
        LEGAL = "legal", _("Legal name")
        TRANSLITERATION = "translit", _("Transliteration")
        PREVIOUS = "previous", _("Previous name")
        ALIAS = "alias", _("Other spelling")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="names")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.LEGAL)
    family_name = EncryptedTextField(_("family name"), max_length=100, single_line=True)
    given_names = EncryptedTextField(_("given names"), max_length=150, blank=True, single_line=True)
    patronymic = EncryptedTextField(_("patronymic"), max_length=100, blank=True, single_line=True)
    crypto_id = crypto_id_field()
    script = models.CharField(
        _("script"),
        max_length=10,
        choices=[("cyrl", _("Cyrillic")), ("latn", _("Latin")), ("other", _("Other"))],
        default="cyrl",
    )

    class Meta:
        verbose_name = _("client name")
        verbose_name_plural = _("client names")
        ordering = ["id"]

    def __str__(self) -> str:
        return numbered(self, self.get_kind_display())

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.family_name, self.given_names, self.patronymic) if p)


class ContactChannel(FastChoiceDisplay, models.Model):
    """One way to reach a client, and what is safe on it. Nothing is safe until someone has
    asked the client: only a channel marked safe gets a call or mailto link."""

    class Kind(models.TextChoices):
        SIGNAL = "signal", "Signal"
        TELEGRAM = "telegram", "Telegram"
        WHATSAPP = "whatsapp", "WhatsApp"
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        ADDRESS = "address", _("Postal address")
        OTHER = "other", _("Other")

    USE_FIELDS = ("may_call", "may_text", "may_email", "may_post")
    # Which uses each kind of channel has (the form refuses the others).
    USES_BY_KIND: dict[str, tuple[str, ...]] = {
        Kind.SIGNAL: ("may_call", "may_text"),
        Kind.TELEGRAM: ("may_call", "may_text"),
        Kind.WHATSAPP: ("may_call", "may_text"),
        Kind.PHONE: ("may_call", "may_text"),
        Kind.EMAIL: ("may_email",),
        Kind.ADDRESS: ("may_post",),
        Kind.OTHER: USE_FIELDS,
    }

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contacts")
    crypto_id = crypto_id_field()
    kind = models.CharField(_("channel"), max_length=20, choices=Kind.choices)
    value = EncryptedTextField(_("number or address"), max_length=200, single_line=True)
    safety_note = EncryptedTextField(
        _("safety note"),
        max_length=300,
        blank=True,
        single_line=True,
        help_text=_("e.g. “Signal only, never call”"),
    )
    may_call = models.BooleanField(_("calls are safe"), default=False)
    may_text = models.BooleanField(_("SMS and messages are safe"), default=False)
    may_email = models.BooleanField(_("e-mail is safe"), default=False)
    may_post = models.BooleanField(_("letters by post are safe"), default=False)

    class Meta:
        verbose_name = _("contact channel")
        verbose_name_plural = _("contact channels")
        ordering = ["id"]

    def __str__(self) -> str:
        return numbered(self, self.get_kind_display())

    def uses(self) -> list[tuple[str, str, bool]]:
        """The uses of this kind of channel as (field, what to tell staff, safe). A use nobody
        marked safe is one not to make."""
        blocked = self.client.do_not_contact
        return [
            (name, str(_USE_LABELS[name][0 if safe else 1]), safe)
            for name in self.USES_BY_KIND.get(self.kind, self.USE_FIELDS)
            for safe in [getattr(self, name) and not blocked]
        ]

    @property
    def link(self) -> str:
        """A tel: or mailto: link, only for a channel marked safe for it and a client who may
        be contacted; otherwise empty (the page shows the warning instead)."""
        if self.client.do_not_contact:
            return ""
        if self.kind == self.Kind.PHONE and self.may_call:
            number = "".join(c for c in self.value if c.isdigit() or c == "+")
            return f"tel:{number}" if number.strip("+") else ""
        if self.kind == self.Kind.EMAIL and self.may_email:
            return "mailto:" + quote(self.value.strip(), safe="@.+-_")
        return ""

    @property
    def is_unsafe(self) -> bool:
        """Nobody has marked any use of this channel safe (or the client is not to be
        contacted at all)."""
        return not any(safe for _name, _text, safe in self.uses())


_USE_LABELS = {
    "may_call": (_("calls OK"), _("no calls")),
    "may_text": (_("messages OK"), _("no messages")),
    "may_email": (_("e-mail OK"), _("no e-mail")),
    "may_post": (_("post OK"), _("no post")),
}


class Relative(FastChoiceDisplay, models.Model):
    class Relation(models.TextChoices):
        SPOUSE = "spouse", _("Spouse or partner")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SIBLING = "sibling", _("Brother or sister")
        OTHER = "other", _("Other")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="relatives")
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    full_name = EncryptedTextField(_("full name"), max_length=200, single_line=True)
    birth_date = EncryptedDateField(_("date of birth"), null=True, blank=True)
    location = EncryptedTextField(
        _("where they are now"), max_length=200, blank=True, single_line=True
    )
    crypto_id = crypto_id_field()
    in_household = models.BooleanField(_("part of the application"), default=False)
    notes = EncryptedTextField(_("notes"), blank=True, max_length=5000)

    class Meta:
        verbose_name = _("relative")
        verbose_name_plural = _("relatives")
        ordering = ["id"]

    def __str__(self) -> str:
        return numbered(self, self.get_relation_display())


# Above this many assigned cases the ids are not read into a list.
ASSIGNED_SCOPE_MAX = 10_000


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user) -> "CaseQuerySet":
        """The need-to-know rule, the only one: which cases this user may see at all.

        Coordinators and administrators see their organisation's cases; caseworkers and
        volunteers the cases assigned to them; partner lawyers the cases referred to them
        that they accepted, until the referral ends or reaches its end date; auditors and users
        without a membership see none.
        """
        membership = getattr(user, "membership", None) if user.is_authenticated else None
        if membership is None or not user.is_active:
            return self.none()
        in_org = self.filter(organisation_id=membership.organisation_id)
        if membership.can(Capability.VIEW_ALL_CASES):
            return in_org
        if membership.can(Capability.VIEW_ASSIGNED_CASES):
            # The ids of the user's cases, read from the (user, case) index: PostgreSQL joins
            # them to the cases by primary key. As EXISTS (assignment for this case) it scanned
            # every case of the organisation (bench/visibility.py shows both plans).
            mine = Assignment.objects.filter(user=user).values("case_id")
            return in_org.filter(pk__in=mine)
        if membership.can(Capability.VIEW_SHARED_CASES):
            return in_org.filter(
                Exists(
                    Share.objects.filter(
                        case=OuterRef("pk"),
                        lawyer=user,
                        status=Share.Status.ACCEPTED,
                        expires_at__gt=timezone.now(),
                    )
                )
            )
        return self.none()

    def assigned_scope(self, user) -> tuple[int, list[int]] | None:
        """visible_to's rule as (organisation id, case ids) for a user who sees the cases
        assigned to them, when they are few enough to be sent as a list; None for everyone
        else (use visible_to).

        The ids are read from the (user, case) index alone. Given as an array
        (core.expressions.InIds), PostgreSQL checks rows against a hash of them, where the
        subquery of visible_to makes it probe the assignments once per candidate row: the
        dashboard's deadlines of a caseworker with 2,000 cases took 20 ms that way, 5 ms
        this way (100,000 cases)."""
        membership = getattr(user, "membership", None) if user.is_authenticated else None
        if (
            membership is None
            or not user.is_active
            or membership.can(Capability.VIEW_ALL_CASES)
            or not membership.can(Capability.VIEW_ASSIGNED_CASES)
        ):
            return None
        ids = list(
            Assignment.objects.filter(user=user).values_list("case_id", flat=True)[
                : ASSIGNED_SCOPE_MAX + 1
            ]
        )
        if len(ids) > ASSIGNED_SCOPE_MAX:
            return None
        return membership.organisation_id, ids


class Case(FastChoiceDisplay, models.Model):
    class Kind(models.TextChoices):
        SUPPORT_LETTER = "support_letter", _("Support letter")
        ASYLUM_CLAIM = "asylum_claim", _("Asylum claim support")
        APPEAL = "appeal", _("Appeal")
        RELOCATION = "relocation", _("Relocation")
        LEGAL_AID = "legal_aid", _("Legal aid")

    class Status(models.TextChoices):
        INTAKE = "intake", _("Intake")
        ACTIVE = "active", _("Active")
        LETTER_REQUESTED = "letter_requested", _("Letter requested")
        LETTER_ISSUED = "letter_issued", _("Letter issued")
        AWAITING_DECISION = "awaiting_decision", _("Awaiting decision")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        APPEAL = "appeal", _("Appeal")
        CLOSED = "closed", _("Closed")

    class Risk(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    S = Status
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        S.INTAKE: (S.ACTIVE, S.CLOSED),
        S.ACTIVE: (S.LETTER_REQUESTED, S.AWAITING_DECISION, S.CLOSED),
        S.LETTER_REQUESTED: (S.LETTER_ISSUED, S.ACTIVE, S.CLOSED),
        S.LETTER_ISSUED: (S.AWAITING_DECISION, S.LETTER_REQUESTED, S.CLOSED),
        S.AWAITING_DECISION: (S.GRANTED, S.REFUSED, S.LETTER_REQUESTED, S.CLOSED),
        S.GRANTED: (S.CLOSED,),
        S.REFUSED: (S.APPEAL, S.CLOSED),
        S.APPEAL: (S.LETTER_REQUESTED, S.GRANTED, S.REFUSED, S.CLOSED),
        S.CLOSED: (S.ACTIVE,),
    }
    del S

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    destination_country = CountryField(_("destination country"), blank=True)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    grounds = models.ManyToManyField(Ground, verbose_name=_("grounds"), blank=True)
    letter_name = models.ForeignKey(
        ClientName,
        verbose_name=_("Latin spelling for letters"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "The spelling of the passport, or the one the authority registered. Empty: the "
            "ICAO transliteration of the legal name."
        ),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.INTAKE
    )
    risk = models.CharField(
        _("risk level"), max_length=10, choices=Risk.choices, default=Risk.MEDIUM
    )
    summary = EncryptedTextField(
        _("summary"),
        blank=True,
        max_length=5000,
        help_text=_("What happened and what the client needs, in a few sentences."),
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Assignment",
        through_fields=("case", "user"),
        related_name="assigned_cases",
        verbose_name=_("assigned staff"),
    )
    opened_at = models.DateField(_("opened"), default=date.today)
    closed_at = models.DateField(_("closed"), null=True, blank=True)
    retention_until = models.DateField(
        _("keep until"),
        null=True,
        blank=True,
        help_text=_("Set when the case is closed; afterwards the case is erased."),
    )
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    crypto_id = crypto_id_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["organisation", "-opened_at", "-id"]),
            # The newest change, which keys the dashboard's cached counts.
            models.Index(fields=["organisation", "updated_at"], name="case_org_updated"),
        ]

    def __str__(self) -> str:
        return self.reference

    @classmethod
    def next_reference(cls, year: int | None = None) -> str:
        """An opaque reference like 2026-0137: the year and a random number, never the name.
        Four digits while they last, then more."""
        year = year or timezone.localdate().year
        for attempt in range(60):
            digits = 4 + attempt // 20
            number = secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1)
            reference = f"{year}-{number}"
            if not cls.objects.filter(reference=reference).exists():
                return reference
        return f"{year}-{secrets.token_hex(4)}"

    def allowed_transitions(self) -> list[tuple[str, str | Promise]]:
        return [(s, self.Status(s).label) for s in self.TRANSITIONS[self.status]]

    def change_status(self, new_status: str, *, by) -> None:
        if new_status not in self.TRANSITIONS[self.status]:
            raise ValidationError(
                _("A case cannot go from “%(old)s” to “%(new)s”."),
                params={
                    "old": self.get_status_display(),
                    "new": dict(self.Status.choices).get(new_status, new_status),
                },
                code="invalid_transition",
            )
        old = self.status
        self.status = new_status
        self.closed_at = timezone.localdate() if new_status == self.Status.CLOSED else None
        self.save(update_fields=["status", "closed_at", "updated_at"])
        self.log(by, CaseLogEntry.Action.STATUS, f"{old} → {new_status}")

    def log(self, user, action: str, detail: str = "") -> "CaseLogEntry":
        return CaseLogEntry.objects.create(case=self, actor=user, action=action, detail=detail)


class CaseReference(FastChoiceDisplay, models.Model):
    """An authority's own file number for the case (OFPRA number, BAMF Gesch.-Z., A-Number…).

    Encrypted, because an A-Number identifies a person; found by search through `value_index`,
    a keyed hash of the normalised value (casework.names.reference_index)."""

    class Kind(models.TextChoices):
        OFPRA = "ofpra", _("OFPRA number")
        CNDA = "cnda", _("CNDA appeal number")
        BAMF = "bamf", _("BAMF file number (Gesch.-Z.)")
        VG = "vg", _("Administrative court file number (Aktenzeichen)")
        A_NUMBER = "a_number", _("A-Number")
        USCIS_RECEIPT = "uscis_receipt", _("USCIS receipt number")
        EOIR = "eoir", _("Immigration court case")
        HOME_OFFICE = "home_office", _("Home Office reference")
        UNHCR = "unhcr", _("UNHCR registration number")
        OTHER = "other", _("Other reference")

    # Which kinds use the optional fields (the form shows them for these only).
    KINDS_WITH_DATE = (Kind.CNDA, Kind.EOIR)
    KINDS_WITH_COURT = (Kind.VG, Kind.EOIR)
    KINDS_WITH_JUDGE = (Kind.EOIR,)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="references")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = EncryptedTextField(_("number"), max_length=100, single_line=True)
    value_index = models.CharField(max_length=64, db_index=True, editable=False)
    date = EncryptedDateField(
        _("date"),
        null=True,
        blank=True,
        help_text=_("CNDA: date of the OFPRA decision. Immigration court: next hearing."),
    )
    court = EncryptedTextField(
        _("court"),
        max_length=200,
        blank=True,
        single_line=True,
        help_text=_("e.g. Verwaltungsgericht Berlin, New York – Broadway Immigration Court"),
    )
    judge = EncryptedTextField(_("immigration judge"), max_length=200, blank=True, single_line=True)
    crypto_id = crypto_id_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("procedure reference")
        verbose_name_plural = _("procedure references")
        ordering = ["kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="unique_case_reference_kind"),
        ]

    def __str__(self) -> str:
        return numbered(self, self.get_kind_display())


class CaseStatement(FastChoiceDisplay, models.Model):
    """The statement for letters: the facts of the case as the NGO puts them to an authority,
    in one letter language. Letters are prefilled from it; it is never the internal summary."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="statements")
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    text = EncryptedTextField(_("statement"), max_length=20000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    crypto_id = crypto_id_field()

    class Meta:
        verbose_name = _("statement for letters")
        verbose_name_plural = _("statements for letters")
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "language"], name="unique_case_statement_language"
            ),
        ]

    def __str__(self) -> str:
        return numbered(self, self.language)


class Assignment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="unique_assignment"),
        ]
        # A user's cases in one index range (Case.objects.visible_to), case ids included.
        indexes = [models.Index(fields=["user", "case"], name="assignment_user_case")]

    def __str__(self) -> str:
        return f"{self.case} → {self.user}"


class Share(FastChoiceDisplay, models.Model):
    """A referral of one case to a partner lawyer (the model kept its first name, from when it
    was a read-only share). A coordinator offers it with a message and an end date; the lawyer
    accepts or declines; either side ends it, or it runs out at the end date. Only an accepted
    referral before its end grants access (CaseQuerySet.visible_to); the rows stay as the
    record of who had the case when."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        ENDED = "ended", _("Ended")
        EXPIRED = "expired", _("Expired")

    OPEN_STATUSES = (Status.OFFERED, Status.ACCEPTED)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    lawyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("partner lawyer"),
        on_delete=models.CASCADE,
        related_name="shares",
        limit_choices_to={"membership__role": Membership.Role.LAWYER},
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OFFERED
    )
    # The coordinator's message may say what the case is about: encrypted like notes.
    message = EncryptedTextField(_("message to the lawyer"), max_length=2000, blank=True)
    expires_at = models.DateTimeField(_("ends"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Why it was declined or ended, in the words of whoever did it: encrypted.
    reason = EncryptedTextField(_("reason"), max_length=1000, blank=True)
    crypto_id = crypto_id_field()

    class Meta:
        verbose_name = _("referral to a lawyer")
        verbose_name_plural = _("referrals to lawyers")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open referral per case and lawyer; the closed ones stay as history.
            models.UniqueConstraint(
                fields=["case", "lawyer"],
                condition=models.Q(status__in=["offered", "accepted"]),
                name="one_open_referral_per_case_and_lawyer",
            ),
        ]

    def __str__(self) -> str:
        return numbered(self, self.get_status_display())

    @property
    def is_active(self) -> bool:
        """Grants access now: accepted and not past its end."""
        return self.status == self.Status.ACCEPTED and self.expires_at > timezone.now()

    @property
    def is_open(self) -> bool:
        """Offered or accepted, and not past its end: something either side can still act on."""
        return self.status in self.OPEN_STATUSES and self.expires_at > timezone.now()


class Consent(FastChoiceDisplay, models.Model):
    class Purpose(models.TextChoices):
        CASEWORK = "casework", _("Keeping and processing the case file")
        LETTERS = "letters", _("Writing letters to authorities")
        SHARING = "sharing", _("Sharing the file with a partner lawyer")
        STATISTICS = "statistics", _("Anonymous statistics")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    given_on = models.DateField(_("given on"), default=date.today)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["purpose", "-given_on"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None


class Event(FastChoiceDisplay, models.Model):
    """Something dated on a case: an interview, a hearing, a deadline."""

    class Kind(models.TextChoices):
        INTERVIEW = "interview", _("Interview")
        HEARING = "hearing", _("Hearing")
        APPEAL_DEADLINE = "appeal_deadline", _("Appeal deadline")
        STAY_EXPIRY = "stay_expiry", _("Right to stay expires")
        SUBMISSION = "submission", _("Submission deadline")
        DECISION = "decision", _("Decision received")
        ARRIVAL = "arrival", _("Arrival in the country")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        """What a decision said: deadline rules may depend on it (DeadlineRule.outcome)."""

        REFUSED = "refused", _("Refused")
        MANIFESTLY_UNFOUNDED = "manifestly_unfounded", _("Refused as manifestly unfounded")
        GRANTED = "granted", _("Granted")

    DEADLINE_KINDS = (Kind.APPEAL_DEADLINE, Kind.STAY_EXPIRY, Kind.SUBMISSION)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = EncryptedTextField(_("title"), max_length=200, single_line=True)
    date = models.DateField(_("date"))
    time = models.TimeField(_("time"), null=True, blank=True)
    location = EncryptedTextField(_("place"), max_length=200, blank=True, single_line=True)
    crypto_id = crypto_id_field()
    is_deadline = models.BooleanField(_("deadline"), default=False)
    done = models.BooleanField(_("done"), default=False)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who decided or where it happens. Empty: the case's authority."),
    )
    outcome = models.CharField(
        _("outcome of the decision"), max_length=30, choices=Outcome.choices, blank=True
    )
    # A deadline computed from another event (a decision, an arrival) by a DeadlineRule: kept in
    # step with that event until someone changes it by hand (casework.deadlines).
    source = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="computed"
    )
    rule = models.ForeignKey(
        "DeadlineRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_by_hand = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events and deadlines")
        ordering = ["date", "time", "id"]
        indexes = [
            models.Index(fields=["date", "done"]),
            # The dashboard's overdue and upcoming deadlines: few rows among many events.
            models.Index(
                fields=["date", "case"],
                condition=models.Q(is_deadline=True, done=False),
                name="event_open_deadline",
            ),
        ]

    def __str__(self) -> str:
        return numbered(self, self.get_kind_display())

    @property
    def is_overdue(self) -> bool:
        return self.is_deadline and not self.done and self.date < timezone.localdate()

    @property
    def days_left(self) -> int:
        return (self.date - timezone.localdate()).days

    @property
    def urgency(self) -> str:
        """How near an open deadline is, for the dashboard's marks: "overdue", "today",
        "1", "3", "7", "14" (at most that many days left) or "" (further off)."""
        days = self.days_left
        if days < 0:
            return "overdue"
        if days == 0:
            return "today"
        return next((str(n) for n in REMINDER_DAYS[::-1] if days <= n), "")


# The daily digest names an open deadline when it is this many days away (and every day once
# it is due): reminders that grow more urgent as the day comes (casework.reminders).
REMINDER_DAYS = (14, 7, 3, 1)


class DeadlineRuleQuerySet(models.QuerySet["DeadlineRule"]):
    def for_organisation(self, organisation_id: int | None) -> "DeadlineRuleQuerySet":
        """The rules an organisation counts with: the shared defaults and its own."""
        return self.filter(models.Q(organisation=None) | models.Q(organisation_id=organisation_id))


class DeadlineRule(FastChoiceDisplay, models.Model):
    """A time limit that follows an event: "from a refusal by OFPRA, the appeal to the CNDA is
    due one month after notification". Data that administrators keep, with its legal source and
    the date it was last checked; casework.deadlines computes the dates.

    A rule applies to an event of its kind whose authority (the event's, else the case's) is
    in its country and matches whatever else it names (the authority, the authority's kind,
    the decision's outcome). When several apply, the most specific one wins."""

    class Unit(models.TextChoices):
        DAYS = "days", _("calendar days")
        MONTHS = "months", _("months")
        WORKING_DAYS = "working_days", _("working days")

    class Start(models.TextChoices):
        """What the event's date is, in the explanation ("1 month from notification on …")."""

        NOTIFICATION = "notification", _("notification")
        SERVICE = "service", _("service")
        DECISION = "decision", _("the decision")
        ARRIVAL = "arrival", _("arrival")

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deadline_rules",
        help_text=_("Empty: shared by every organisation."),
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What is due, e.g. “CNDA appeal”.")
    )
    event_kind = models.CharField(
        _("counted from an event of kind"), max_length=20, choices=Event.Kind.choices
    )
    country = CountryField(
        _("country"), help_text=_("Where the authority is; its public holidays count.")
    )
    subdivision = models.CharField(
        _("region for public holidays"),
        max_length=10,
        blank=True,
        help_text=_("e.g. BE for Berlin; empty: the holidays of the whole country."),
    )
    authority_kind = models.CharField(
        _("authority kind"), max_length=20, choices=Authority.Kind.choices, blank=True
    )
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(
        _("outcome of the decision"),
        max_length=30,
        choices=Event.Outcome.choices,
        blank=True,
        help_text=_("Empty: any event of the kind, except a decision that grants."),
    )
    period = models.PositiveSmallIntegerField(_("period"))
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices)
    starts_from = models.CharField(
        _("counted from"), max_length=20, choices=Start.choices, default=Start.NOTIFICATION
    )
    deadline_kind = models.CharField(
        _("kind of the deadline"),
        max_length=20,
        choices=Event.Kind.choices,
        default=Event.Kind.APPEAL_DEADLINE,
    )
    next_working_day = models.BooleanField(
        _("moves to the next working day"),
        default=True,
        help_text=_(
            "A deadline that falls on a weekend or a public holiday moves to the next working "
            "day, where the jurisdiction's rules say so."
        ),
    )
    source = models.CharField(
        _("legal source"), max_length=300, help_text=_("e.g. CESEDA art. L532-1")
    )
    checked_on = models.DateField(_("checked on"))
    note = models.TextField(
        _("note"),
        blank=True,
        help_text=_("Exceptions and caveats; confirm every rule with your lawyers."),
    )
    active = models.BooleanField(_("active"), default=True)

    objects = DeadlineRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return self.name


class Note(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = EncryptedTextField(_("note"), max_length=20000)
    crypto_id = crypto_id_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return numbered(self)


def _document_path(instance: "Document", filename: str) -> str:
    # Random name: the stored file reveals neither the client nor the original file name.
    return f"documents/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}"


class Document(FastChoiceDisplay, models.Model):
    class Kind(models.TextChoices):
        PASSPORT = "passport", _("Passport or ID")
        CRIMINAL_CASE = "criminal_case", _("Criminal case file")
        COURT_DECISION = "court_decision", _("Court decision")
        AUTHORITY_DECISION = "authority_decision", _("Decision of an authority")
        EVIDENCE = "evidence", _("Evidence")
        OTHER = "other", _("Other")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = EncryptedTextField(_("title"), max_length=200, single_line=True)
    file = models.FileField(upload_to=_document_path)
    original_name = EncryptedTextField(max_length=255, single_line=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    crypto_id = crypto_id_field()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return numbered(self, self.get_kind_display())

    @property
    def download_name(self) -> str:
        """The name it is downloaded and exported under: with its detected type's extension,
        also for documents stored before the upload took it (with the uploader's)."""
        return name_for_type(self.original_name, self.content_type)


class ProcedureQuerySet(models.QuerySet["Procedure"]):
    def for_organisation(self, organisation_id: int | None) -> "ProcedureQuerySet":
        """The procedures an organisation works with: the shared defaults and its own."""
        return self.filter(models.Q(organisation=None) | models.Q(organisation_id=organisation_id))


class Procedure(FastChoiceDisplay, models.Model):
    """A procedure a case goes through (an OFPRA claim, a CNDA appeal…) and the documents it
    needs: its checklist. Shared by every organisation or an organisation's own."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="procedures",
        help_text=_("Empty: shared by every organisation."),
    )
    name = models.CharField(_("name"), max_length=100)
    country = CountryField(_("country"))
    language = models.CharField(
        _("language of the enclosure list"),
        max_length=2,
        choices=settings.LETTER_LANGUAGES,
        help_text=_("Letters in this language list the documents the case has."),
    )
    note = models.TextField(_("note"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = ProcedureQuerySet.as_manager()

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("document"), max_length=200)
    enclosure = models.CharField(
        _("as letters list it"),
        max_length=200,
        blank=True,
        help_text=_("In the procedure's language; empty: never listed as an enclosure."),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["procedure", "position", "id"]

    def __str__(self) -> str:
        return self.name


class CaseProcedure(models.Model):
    """A procedure the case goes through; its checklist is kept in ChecklistEntry rows (an item
    without one is still missing)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="procedures")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("procedure of a case")
        verbose_name_plural = _("procedures of cases")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "procedure"], name="unique_case_procedure"),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.procedure}"


class ChecklistEntry(FastChoiceDisplay, models.Model):
    class State(models.TextChoices):
        MISSING = "missing", _("Missing")
        HAVE = "have", _("Have")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")

    case_procedure = models.ForeignKey(
        CaseProcedure, on_delete=models.CASCADE, related_name="entries"
    )
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.MISSING
    )
    documents = models.ManyToManyField(
        Document, verbose_name=_("documents"), blank=True, related_name="checklist_entries"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("checklist entry")
        verbose_name_plural = _("checklist entries")
        constraints = [
            models.UniqueConstraint(
                fields=["case_procedure", "item"], name="unique_checklist_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_procedure} · {self.item}"


class CaseLogEntry(FastChoiceDisplay, models.Model):
    """What was done on a case, by whom and when. Never the content itself: names of changed
    fields and status codes only, so that the history holds no personal data of its own."""

    class Action(models.TextChoices):
        CREATED = "created", _("Case opened")
        UPDATED = "updated", _("Case edited")
        CLIENT_UPDATED = "client_updated", _("Client details edited")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        UNASSIGNED = "unassigned", _("Unassigned")
        SHARED = "shared", _("Shared with a lawyer")
        REFERRAL = "referral", _("Referral to a lawyer")
        RELATIVE = "relative", _("Relative added")
        EVENT = "event", _("Event added")
        EVENT_DONE = "event_done", _("Event marked done")
        NOTE = "note", _("Note added")
        DOCUMENT = "document", _("Document uploaded")
        DOWNLOADED = "downloaded", _("Document downloaded")
        CONSENT = "consent", _("Consent recorded")
        LETTER = "letter", _("Letter")
        REFERENCE = "reference", _("Procedure reference")
        STATEMENT = "statement", _("Statement for letters")
        EVENT_CHANGED = "event_changed", _("Event changed")
        EVENT_DELETED = "event_deleted", _("Event deleted")
        CHECKLIST = "checklist", _("Checklist")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="log_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_action_display()}"

    @property
    def detail_display(self) -> str:
        if self.action == self.Action.STATUS and " → " in self.detail:
            labels = dict(Case.Status.choices)
            return " → ".join(str(labels.get(code, code)) for code in self.detail.split(" → "))
        return self.detail


class AccessEvent(FastChoiceDisplay, models.Model):
    """The access log: who did what to which object, when and from where. Ids only, never
    content. Append-only: the database refuses UPDATE and DELETE on this table (see the
    migration). New rows are bare (appended without a lock); AccessSeal chains them. Rows
    from before the sealer carry their own keyed hash (`seq`, `hash`), the oldest an unkeyed
    one (`chain` empty); casework.audit verifies all three."""

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        LIST = "list", _("Listed")
        SEARCH = "search", _("Searched")
        DOWNLOAD = "download", _("Downloaded")
        EXPORT = "export", _("Exported")
        CREATE = "create", _("Created")
        CHANGE = "change", _("Changed")
        ISSUE = "issue", _("Issued a letter")
        REVEAL = "reveal", _("Revealed special-category data")
        LOGIN = "login", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logged out")
        DENIED = "denied", _("Permission denied")
        LOCKDOWN = "lockdown", _("Lockdown")
        ERASE = "erase", _("Erased")
        SECURITY = "security", _("Security change")
        DELETE = "delete", _("Deleted")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    organisation_id = models.BigIntegerField(null=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    case_id = models.BigIntegerField(null=True, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    path_name = models.CharField(max_length=80, blank=True)
    # The chain (the organisation, 0 without one) and the entry's number in it; both empty for
    # the entries written before the log was keyed (casework.audit, "legacy").
    chain = models.BigIntegerField(null=True)
    seq = models.BigIntegerField(null=True)
    key_id = models.CharField(max_length=8, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-id"]
        constraints = [
            # Entries chained on append (before the sealer): also the index of their chain heads.
            models.UniqueConstraint(
                fields=["chain", "seq"],
                condition=models.Q(seq__isnull=False),
                name="casework_accessevent_chain_seq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class AccessSeal(models.Model):
    """The access log's chain since requests stopped taking a lock (casework.audit): a
    background sealer numbers new entries per organisation (`seq`) and signs each with a keyed
    hash of the entry's fields and of the previous seal. Like the log, append-only (the
    database refuses UPDATE and DELETE; the application's role may only INSERT and SELECT).

    A seal with `missing` set records an entry id that never appeared (deleted before it was
    sealed, or appended in a transaction that was rolled back). `upto`: every entry id up to it
    was sealed or recorded missing when this seal was written."""

    chain = models.BigIntegerField()
    seq = models.BigIntegerField()
    event_id = models.BigIntegerField()
    missing = models.BooleanField(default=False)
    upto = models.BigIntegerField()
    sealed_at = models.DateTimeField(default=timezone.now)
    key_id = models.CharField(max_length=8)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("access log seal")
        verbose_name_plural = _("access log seals")
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="casework_accessseal_chain_seq"),
            models.UniqueConstraint(
                fields=["event_id", "missing"], name="casework_accessseal_event"
            ),
        ]
        indexes = [
            # The sealer's look-up of recorded gaps that may still be filled by a late commit.
            models.Index(
                fields=["event_id"],
                condition=models.Q(missing=True),
                name="casework_accessseal_missing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain}:{self.seq}"


class DailyRun(models.Model):
    """A scheduled daily job that ran (or is running) for a day. The unique (job, day) makes
    each daily job run once a day whatever sends it: a second scheduler, a restarted one that
    catches up, or an operator running it by hand (casework.services.daily_run_claim)."""

    job = models.CharField(max_length=60)
    day = models.DateField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("daily job run")
        verbose_name_plural = _("daily job runs")
        constraints = [
            models.UniqueConstraint(fields=["job", "day"], name="daily_run_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.day:%Y-%m-%d}"

    def finish(self) -> None:
        self.finished_at = timezone.now()
        self.save(update_fields=["finished_at"])


def _import_path(instance: "SpreadsheetImport", filename: str) -> str:
    # Random name, like documents: the stored file reveals neither the NGO's file name nor
    # anything in it (it is encrypted by the storage).
    return f"imports/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}"


class SpreadsheetImport(FastChoiceDisplay, models.Model):
    """An uploaded client sheet between its steps (mapping, preview, import). The sheet is kept
    only encrypted, and only until it is imported or abandoned (the stale ones are deleted by
    casework.tasks.delete_stale_imports); afterwards the row keeps the figures, not the file."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Waiting to be imported")
        RUNNING = "running", _("Importing")
        IMPORTED = "imported", _("Imported")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file = models.FileField(upload_to=_import_path, blank=True)
    # The rows left out (errors, duplicates) as the error report, written by the import and
    # kept encrypted, like the sheet, for PRISTAN_IMPORT_KEEP_HOURS after it.
    report = models.FileField(upload_to=_import_path, blank=True)
    file_format = models.CharField(max_length=10)
    # Which field each column feeds: {"0": "full_name", "3": "birth_date", ...}.
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    row_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    deadline_count = models.PositiveIntegerField(default=0)
    # The import itself runs in the worker (casework.tasks.import_spreadsheet) with the choices
    # made on the preview, in the language of whoever started it; a failure sends the upload
    # back to the preview with the reason in `error` (nothing was created: all or nothing).
    skip_errors = models.BooleanField(default=False)
    include_duplicates = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    language = models.CharField(max_length=10, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("spreadsheet import")
        verbose_name_plural = _("spreadsheet imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_format} · {self.created_at:%Y-%m-%d %H:%M}"


class DuplicateAlert(models.Model):
    """Someone entered a client whose name and date of birth match a client they may not see:
    they were told only that a coordinator would check, and this is what the coordinators see
    (dashboard and email) until one of them marks it checked."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    existing_client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    new_case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"{self.existing_client_id} · {self.raised_at:%Y-%m-%d}"
