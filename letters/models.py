"""Letters of support: versioned templates, drafts, the outgoing-letter register, batches.

A letter's life: draft → in review → approved → issued (→ revoked). Issuing takes the next
number from the organisation's register in the same transaction that freezes the text, and
rendering to PDF happens afterwards in a Celery worker (`render_status`).
"""

import hashlib
import json
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from casework.models import Authority, Case, Ground, Organisation
from core.choices import FastChoiceDisplay
from core.expressions import InIds
from core.fields import EncryptedTextField, crypto_id_field


class OrganisationIdentity(FastChoiceDisplay, models.Model):
    """How the organisation presents itself in letters of one language: letterhead, footer, the
    introduction sentence and the verification page. A letter is only issued in a language the
    organisation has an identity in, so that no Russian name ends up inside a French sentence."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="identities"
    )
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    name = models.CharField(_("name"), max_length=200)
    legal_form = models.CharField(
        _("legal form"),
        max_length=300,
        blank=True,
        help_text=_("As it reads in a sentence, e.g. “an independent non-profit organisation”."),
    )
    registration = models.CharField(
        _("registration"), max_length=200, blank=True, help_text=_("E.g. its registry number.")
    )
    address = models.TextField(_("postal address"))
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("email"), blank=True)
    show_russian_name = models.BooleanField(
        _("Russian name as a second line of the letterhead"),
        default=False,
        help_text=_("Only in the letterhead, never inside the text."),
    )

    class Meta:
        verbose_name = _("organisation identity for letters")
        verbose_name_plural = _("organisation identities for letters")
        ordering = ["organisation", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "language"], name="unique_identity_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class Signer(models.Model):
    """A person entitled to sign the organisation's letters. The signer is chosen when a letter
    is approved, never implied from who drafted it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="signers")
    name_latin = models.CharField(_("name in Latin letters"), max_length=200)
    name_cyrillic = models.CharField(_("name in Cyrillic"), max_length=200, blank=True)
    title_ru = models.CharField(_("title in Russian"), max_length=200, blank=True)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    title_fr = models.CharField(_("title in French"), max_length=200, blank=True)
    title_de = models.CharField(_("title in German"), max_length=200, blank=True)
    signature_image = models.ImageField(_("signature image"), upload_to="signatures/", blank=True)
    is_default = models.BooleanField(_("default signer"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("signer")
        verbose_name_plural = _("signers")
        ordering = ["-is_default", "name_latin"]

    def __str__(self) -> str:
        return self.name_latin

    def name_in(self, language: str) -> str:
        return (self.name_cyrillic or self.name_latin) if language == "ru" else self.name_latin

    def title_in(self, language: str) -> str:
        return getattr(self, f"title_{language}", "")

    def signs_in(self, language: str) -> bool:
        return bool(self.name_in(language) and self.title_in(language))


class LetterTemplateQuerySet(models.QuerySet["LetterTemplate"]):
    def for_organisation(self, organisation_id: int | None) -> "LetterTemplateQuerySet":
        """The templates an organisation writes with: the shared defaults and its own."""
        return self.filter(models.Q(organisation=None) | models.Q(organisation_id=organisation_id))


class LetterTemplate(FastChoiceDisplay, models.Model):
    """A letter template: shared by every organisation (the defaults, maintained by the
    installation's superusers) or an organisation's own, which no other organisation sees."""

    class Kind(models.TextChoices):
        SUPPORT = "support", _("Letter of support")
        CONFIRMATION = "confirmation", _("Confirmation of assistance")
        CHARACTER = "character", _("Character reference")
        URGENT = "urgent", _("Request for urgent consideration")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    # Which addressees the template is written for: kinds of authority and their countries
    # (ISO codes); empty means any. `requires`: reference kinds (casework.CaseReference.Kind)
    # without which the letter cannot be issued.
    authority_kinds = models.JSONField(_("meant for"), default=list, blank=True)
    countries = models.JSONField(_("countries"), default=list, blank=True)
    requires = models.JSONField(_("references required"), default=list, blank=True)
    subject = models.CharField(_("subject line"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    is_active = models.BooleanField(_("active"), default=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="letter_templates",
        help_text=_("Empty: a default shared by every organisation."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = LetterTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")
        ordering = ["language", "kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def fits(self, authority: Authority) -> bool:
        """Written for this kind of addressee, in its country and language."""
        # A CountryField gives a Country; django-stubs types it as the CharField it extends.
        country = authority.country.code  # type: ignore[attr-defined]
        return (
            self.language == authority.language
            and (not self.authority_kinds or authority.kind in self.authority_kinds)
            and (not self.countries or country in self.countries)
        )

    @property
    def current_version(self) -> "LetterTemplateVersion | None":
        return self.versions.order_by("-number").first()


class LetterTemplateVersion(models.Model):
    """An immutable snapshot of a template; issued letters point at the one they came from."""

    template = models.ForeignKey(LetterTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="unique_template_version")
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class Register(models.Model):
    """The outgoing-letter register of one organisation for one year: the last number used.

    Issuing locks this row, so numbers are handed out one at a time, and the number is taken in
    the same transaction that writes it on the letter: a rollback gives it back, so there are
    no gaps and no duplicates."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("register")
        verbose_name_plural = _("registers")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="unique_register_year")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.year}"


class LetterQuerySet(models.QuerySet["Letter"]):
    def visible_to(self, user) -> "LetterQuerySet":
        """Letters are reached through their case: the case scope decides. For a user who
        sees their assigned cases, as a list of their case ids: as a subquery, PostgreSQL
        probed the assignments of each letter of the organisation in the register's order
        (58 ms for a caseworker with 2,000 cases at 100,000 cases; 2 ms as a list)."""
        scope = Case.objects.assigned_scope(user)
        if scope is not None:
            organisation_id, case_ids = scope
            return self.filter(InIds("case_id", case_ids), case__organisation_id=organisation_id)
        return self.filter(Exists(Case.objects.visible_to(user).filter(pk=OuterRef("case_id"))))


# Verification tokens are typed from paper by officers, so new ones use Crockford's base32: no
# hyphens, no look-alikes (no I, L, O, U), case-insensitive. 20 symbols are 100 bits. Tokens
# issued before (secrets.token_urlsafe: mixed case, "-" and "_") stay valid as they are.
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 20
TOKEN_GROUP = 4
_CROCKFORD_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Spaces and dashes an officer may type or a PDF viewer may copy: any white space (no-break and
# thin spaces included), hyphen-minus, the Unicode hyphens and dashes, the minus sign.
_TYPED_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def _verification_token() -> str:
    return "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(TOKEN_LENGTH))


def normalise_token(typed: str) -> str | None:
    """The canonical form of a Crockford token as typed from paper, or None if it cannot be one.

    Case, spaces and dashes are ignored and the look-alikes read as digits (O → 0, I and L → 1).
    Old urlsafe tokens are case-sensitive and may contain "-": look them up as typed first."""
    stripped = _TYPED_SEPARATORS.sub("", typed)
    if not stripped.isascii():  # before upper(), which turns "ß" into "SS"
        return None
    canonical = stripped.upper().translate(_CROCKFORD_LOOKALIKES)
    if len(canonical) != TOKEN_LENGTH or any(c not in CROCKFORD_ALPHABET for c in canonical):
        return None
    return canonical


def group_token(token: str) -> str:
    """A Crockford token in groups of four for print ("7KQ2 M9XD …"); old tokens unchanged."""
    if normalise_token(token) != token:
        return token
    return " ".join(token[i : i + TOKEN_GROUP] for i in range(0, len(token), TOKEN_GROUP))


# The fields of a letter that are printed, in the order they are hashed. Approval is bound to a
# hash of these (`letter_text_hash`): a field added here is covered by the two-person rule.
LETTER_TEXT_FIELDS = ("subject", "body", "facts")


def letter_text_hash(letter) -> str:
    """SHA-256 (hex) of the letter's printed text: a canonical JSON object of the non-empty
    LETTER_TEXT_FIELDS. Empty fields are left out so that adding a field to the list keeps the
    hashes of existing letters that do not use it (approved letters stay issuable)."""
    text = {
        name: str(getattr(letter, name)) for name in LETTER_TEXT_FIELDS if getattr(letter, name)
    }
    canonical = json.dumps(text, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Letter(FastChoiceDisplay, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        ISSUED = "issued", _("Issued")
        REVOKED = "revoked", _("Revoked")

    class RenderStatus(models.TextChoices):
        NONE = "", _("Not rendered")
        PENDING = "pending", _("Waiting for rendering")
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="letters")
    template_version = models.ForeignKey(
        LetterTemplateVersion, on_delete=models.PROTECT, related_name="letters"
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("addressee"), on_delete=models.PROTECT, related_name="letters"
    )
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    subject = EncryptedTextField(_("subject line"), max_length=300, blank=True, single_line=True)
    body = EncryptedTextField(_("text"), max_length=50000)
    # The letter's own account of the facts, in its language, printed where the body has the
    # FACTS_MARKER paragraph (letters.rendering).
    facts = EncryptedTextField(_("facts"), max_length=20000, blank=True)
    # What the letter lists as enclosed (one per line), from the case's checklists, frozen when
    # it is issued; until then the ENCLOSURES_MARKER paragraph shows the checklists as they are.
    enclosures = EncryptedTextField(_("enclosures"), max_length=5000, blank=True)
    crypto_id = crypto_id_field()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="letters_written"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters_approved",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # The two-person rule: whoever changed the text last (the author if nobody did) cannot
    # approve it, and the approval holds for the text it saw (`letter_text_hash`).
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, blank=True)
    reviewed_hash = models.CharField(max_length=64, blank=True)
    batch = models.ForeignKey(
        "Batch", on_delete=models.SET_NULL, null=True, blank=True, related_name="letters"
    )
    # Set when issued, never changed afterwards.
    register = models.ForeignKey(Register, on_delete=models.PROTECT, null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    number = models.CharField(_("number"), max_length=50, blank=True)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters_issued",
    )
    # Chosen at approval; the name and title are copied then, as they are printed.
    signer = models.ForeignKey(
        Signer, on_delete=models.PROTECT, null=True, blank=True, related_name="letters"
    )
    signer_name = models.CharField(max_length=200, blank=True)
    signer_title = models.CharField(max_length=200, blank=True)
    verification_token = models.CharField(max_length=40, unique=True, default=_verification_token)
    # A corrected letter is a new letter that replaces the old one: issuing it revokes the old
    # one, whose verification page then names the replacement.
    replaces = models.ForeignKey(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacements",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(_("reason"), max_length=500, blank=True)
    # Rendering, done by a worker after issuing.
    render_status = models.CharField(
        max_length=20, choices=RenderStatus.choices, default=RenderStatus.NONE, blank=True
    )
    render_task_id = models.CharField(max_length=64, blank=True)
    render_claimed_at = models.DateTimeField(null=True, blank=True)
    render_error = models.CharField(max_length=500, blank=True)
    render_attempts = models.PositiveIntegerField(default=0)
    pdf = models.FileField(blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_size = models.PositiveIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["register", "sequence"], name="unique_register_sequence"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "issued_at"]),
            # The register, newest first: read in index order, a page is 50 index entries.
            models.Index(
                fields=["-issued_at", "-sequence"],
                condition=models.Q(status__in=["issued", "revoked"]),
                name="letter_register_order",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.case} · {self.get_status_display()}"

    @property
    def printed_token(self) -> str:
        """The verification token as printed on the letter: in groups of four."""
        return group_token(self.verification_token)

    def sign_by(self, signer: "Signer") -> None:
        """Who signs, with the name and title the letter prints, copied so that a later change
        of the signer's title does not change a letter (not saved here)."""
        self.signer = signer
        self.signer_name = signer.name_in(self.language)
        self.signer_title = signer.title_in(self.language)

    @property
    def language_name(self) -> str:
        """The letter's language named in the user's language ("French", "французский")."""
        return str(translation.get_language_info(self.language)["name_translated"])

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.IN_REVIEW)

    @property
    def last_editor_id(self) -> int:
        """Who wrote the text as it stands: the last editor, else the author."""
        return self.last_edited_by_id or self.author_id

    @property
    def text_hash(self) -> str:
        return letter_text_hash(self)

    @property
    def text_changed_since_review(self) -> bool:
        return self.text_hash != self.reviewed_hash

    def submit_for_review(self) -> None:
        self._require(self.Status.DRAFT)
        self.status = self.Status.IN_REVIEW
        self.submitted_at = timezone.now()
        self.save(update_fields=["status", "submitted_at", "updated_at"])

    def return_to_draft(self) -> None:
        self._require(self.Status.IN_REVIEW, self.Status.APPROVED)
        self.status = self.Status.DRAFT
        self.approved_by, self.approved_at, self.reviewed_hash = None, None, ""
        self.save(
            update_fields=["status", "approved_by", "approved_at", "reviewed_hash", "updated_at"]
        )

    def approve(self, *, by, text_hash: str) -> None:
        """Approve the text the reviewer saw (`text_hash`, from the page they read): refused if
        it has changed since, or if the reviewer wrote it last (LETTERS_TWO_PERSON_RULE)."""
        self._require(self.Status.IN_REVIEW)
        if settings.LETTERS_TWO_PERSON_RULE and by.pk == self.last_editor_id:
            if self.last_edited_by_id is None:
                message = _(
                    "The author of a letter cannot approve it. Ask a colleague to review it."
                )
            else:
                message = _(
                    "You edited this letter last, so you cannot approve it. Ask a colleague to "
                    "review it."
                )
            raise ValidationError(message, code="two_person_rule")
        if text_hash != self.text_hash:
            raise ValidationError(
                _(
                    "The text was changed while you were reading it. Nothing was approved: "
                    "read the current text, then approve it."
                ),
                code="stale_text",
            )
        self.status = self.Status.APPROVED
        self.approved_by, self.approved_at = by, timezone.now()
        self.reviewed_hash = text_hash
        self.save(
            update_fields=["status", "approved_by", "approved_at", "reviewed_hash", "updated_at"]
        )

    def revoke(self, *, reason: str) -> None:
        self._require(self.Status.ISSUED)
        if not reason.strip():
            raise ValidationError(_("Give a reason for revoking the letter."), code="no_reason")
        self.status = self.Status.REVOKED
        self.revoked_at, self.revocation_reason = timezone.now(), reason.strip()
        self.save(update_fields=["status", "revoked_at", "revocation_reason", "updated_at"])

    def _require(self, *statuses) -> None:
        if self.status not in statuses:
            raise ValidationError(
                _("This cannot be done to a letter that is “%(status)s”."),
                params={"status": self.get_status_display()},
                code="invalid_status",
            )


class Batch(FastChoiceDisplay, models.Model):
    """Many letters issued and numbered together, one ZIP; its letters carry the progress.

    Two kinds: a template filled in over many cases (the letters are drafted by the batch, in a
    worker, once a second person has approved the batch when LETTERS_BATCH_TWO_PERSON_RULE is
    on), or a selection of letters that were each drafted and approved on their own (issued at
    once when the batch is made; no template, addressee or language of its own)."""

    class Kind(models.TextChoices):
        TEMPLATE = "template", _("One template over many cases")
        APPROVED = "approved", _("Individually approved letters")

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        PREPARING = "preparing", _("Preparing")
        RENDERING = "rendering", _("Rendering")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.TEMPLATE)
    # Template batches only (the approved kind's letters each have their own).
    template = models.ForeignKey(LetterTemplate, on_delete=models.PROTECT, null=True, blank=True)
    authority = models.ForeignKey(
        Authority, verbose_name=_("addressee"), on_delete=models.PROTECT, null=True, blank=True
    )
    language = models.CharField(
        _("language"), max_length=2, choices=settings.LETTER_LANGUAGES, blank=True
    )
    # The cases the batch makes letters for; preparing moves the cases whose client has not
    # consented to letters (or has withdrawn it) to `skipped_case_ids`. The approved kind: the
    # case of each of its letters.
    case_ids = models.JSONField(default=list)
    skipped_case_ids = models.JSONField(default=list, blank=True)
    # Cases whose letter failed the checks before issuing (letters.checks): their reference and
    # the problems, shown on the batch's page; no letter is issued for them.
    refused = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREPARING)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    # The second person who approved a template batch (LETTERS_BATCH_TWO_PERSON_RULE).
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches_approved",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        if self.kind == self.Kind.APPROVED:
            return f"{self.get_kind_display()} × {len(self.case_ids)}"
        return f"{self.template} × {len(self.case_ids)}"

    def approve(self, *, by) -> None:
        """A second person releases a template batch for preparation."""
        if self.status != self.Status.AWAITING_APPROVAL:
            raise ValidationError(
                _("This batch is not waiting for approval."), code="invalid_status"
            )
        if by.pk == self.created_by_id:
            raise ValidationError(
                _(
                    "You started this batch, so you cannot approve it. Ask another "
                    "coordinator to approve it."
                ),
                code="two_person_rule",
            )
        self.status = self.Status.PREPARING
        self.approved_by, self.approved_at = by, timezone.now()
        self.save(update_fields=["status", "approved_by", "approved_at"])


class DownloadLogEntry(models.Model):
    """Who downloaded which issued PDF, and when (ids only)."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("download")
        verbose_name_plural = _("downloads")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.letter_id} · {self.user_id} · {self.at:%Y-%m-%d %H:%M}"


# --- the paragraph library ------------------------------------------------------------------

# Sources checked longer ago than this are flagged in the admin and on the letter page.
PARAGRAPH_CHECK_MAX_AGE = timedelta(days=365)


class Paragraph(FastChoiceDisplay, models.Model):
    """A passage of country-of-origin information that a caseworker inserts into a letter's
    facts: written once by administrators, in one language, with the sources it rests on and
    when they were last checked. Shared by every organisation (`organisation` empty, maintained
    by superusers) or an organisation's own. Not client data: plain fields."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="paragraphs",
        help_text=_("Empty: shared with every organisation."),
    )
    title = models.CharField(_("title"), max_length=200)
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    grounds = models.ManyToManyField(
        Ground, verbose_name=_("grounds"), blank=True, related_name="paragraphs"
    )
    origin_countries = CountryField(_("countries of origin"), multiple=True, blank=True)
    destination_countries = CountryField(_("destination countries"), multiple=True, blank=True)
    sources = models.TextField(
        _("sources"),
        help_text=_("Where the statements come from: titles of reports, with their addresses."),
    )
    checked_on = models.DateField(
        _("sources checked on"), help_text=_("When the sources were last checked.")
    )
    text = models.TextField(
        _("text"), help_text=_("Plain text in the paragraph's language; inserted as it is.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("library paragraph")
        verbose_name_plural = _("library paragraphs")
        ordering = ["language", "title"]
        indexes = [models.Index(fields=["language", "is_active"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"

    @property
    def current_version(self) -> "ParagraphVersion | None":
        return self.versions.order_by("-number").first()

    @property
    def check_is_old(self) -> bool:
        """The sources were last checked more than a year ago."""
        return self.checked_on < timezone.localdate() - PARAGRAPH_CHECK_MAX_AGE


class ParagraphVersion(models.Model):
    """An immutable snapshot of a library paragraph; the case history names the version that
    was inserted into a letter."""

    paragraph = models.ForeignKey(Paragraph, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    sources = models.TextField(_("sources"))
    checked_on = models.DateField(_("sources checked on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("paragraph version")
        verbose_name_plural = _("paragraph versions")
        constraints = [
            models.UniqueConstraint(fields=["paragraph", "number"], name="unique_paragraph_version")
        ]

    def __str__(self) -> str:
        return f"{self.paragraph} v{self.number}"
