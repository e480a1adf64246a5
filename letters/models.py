"""Letters of support: versioned templates, drafts, the outgoing-letter register, batches.

A letter's life: draft → in review → approved → issued (→ revoked). Issuing takes the next
number from the organisation's register in the same transaction that freezes the text, and
rendering to PDF happens afterwards in a Celery worker (`render_status`).
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.models import Authority, Case, Organisation
from core.fields import EncryptedTextField, crypto_id_field


class LetterTemplate(models.Model):
    class Kind(models.TextChoices):
        SUPPORT = "support", _("Letter of support")
        CONFIRMATION = "confirmation", _("Confirmation of assistance")
        CHARACTER = "character", _("Character reference")
        URGENT = "urgent", _("Request for urgent consideration")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    authority_kind = models.CharField(
        _("meant for"),
        max_length=20,
        choices=Authority.Kind.choices,
        blank=True,
        help_text=_("Leave empty if the template suits any recipient."),
    )
    subject = models.CharField(_("subject line"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")
        ordering = ["language", "kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

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
        """Letters are reached through their case: the case scope decides."""
        return self.filter(Exists(Case.objects.visible_to(user).filter(pk=OuterRef("case_id"))))


def _verification_token() -> str:
    return secrets.token_urlsafe(16)


class Letter(models.Model):
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
    signer_name = models.CharField(max_length=200, blank=True)
    signer_title = models.CharField(max_length=200, blank=True)
    verification_token = models.CharField(max_length=40, unique=True, default=_verification_token)
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
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.IN_REVIEW)

    def submit_for_review(self) -> None:
        self._require(self.Status.DRAFT)
        self.status = self.Status.IN_REVIEW
        self.save(update_fields=["status", "updated_at"])

    def return_to_draft(self) -> None:
        self._require(self.Status.IN_REVIEW, self.Status.APPROVED)
        self.status = self.Status.DRAFT
        self.approved_by, self.approved_at = None, None
        self.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])

    def approve(self, *, by) -> None:
        self._require(self.Status.IN_REVIEW)
        if settings.LETTERS_TWO_PERSON_RULE and by.pk == self.author_id:
            raise ValidationError(
                _("The author of a letter cannot approve it. Ask a colleague to review it."),
                code="two_person_rule",
            )
        self.status = self.Status.APPROVED
        self.approved_by, self.approved_at = by, timezone.now()
        self.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])

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


class Batch(models.Model):
    """One template applied to many cases by a coordinator; its letters carry the progress."""

    class Status(models.TextChoices):
        PREPARING = "preparing", _("Preparing")
        RENDERING = "rendering", _("Rendering")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    template = models.ForeignKey(LetterTemplate, on_delete=models.PROTECT)
    authority = models.ForeignKey(Authority, verbose_name=_("addressee"), on_delete=models.PROTECT)
    language = models.CharField(_("language"), max_length=2, choices=settings.LETTER_LANGUAGES)
    # The cases the batch makes letters for; preparing moves the cases whose client has not
    # consented to letters (or has withdrawn it) to `skipped_case_ids`.
    case_ids = models.JSONField(default=list)
    skipped_case_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREPARING)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} × {len(self.case_ids)}"


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
