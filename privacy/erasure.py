"""Erasure of the people in the files (GDPR Art. 17, and the end of the retention period after
a case is closed). The per-person export (Art. 15) is privacy.export.

Erasure keeps only what the outgoing-letter register and the public verification pages need:
for each issued or revoked letter its number, date, addressee, language, status and the SHA-256
of its PDF (so that a letter already handed to an authority can still be checked). Everything
else about the person is deleted (names, contacts, relatives, events, notes, documents,
consents, assignments, shares, procedure references, statements for letters, the case history,
unissued letters, Django admin history) or
emptied (the client and case rows, which the register still points at; every encrypted column
of them; the letters' text and PDF). Files are deleted from storage once the transaction has
committed, so a rollback never leaves rows pointing at deleted files. The access log is
append-only and holds ids only: it stays, and gains one ERASE entry.
"""

import logging
import secrets
from collections.abc import Iterable

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import audit
from casework.models import (
    Assignment,
    Case,
    CaseLogEntry,
    CaseProcedure,
    CaseReference,
    CaseStatement,
    Client,
    ClientName,
    Consent,
    ContactChannel,
    Document,
    Event,
    Note,
    Relative,
    Share,
)
from core.fields import EncryptedMixin
from letters.models import Batch, Letter

logger = logging.getLogger(__name__)

ERASED_PSEUDONYM = "—"
ERASED_REFERENCE_PREFIX = "X-"


class ErasureReason(models.TextChoices):
    """Why a client was erased: a code, never free text (it goes to the log)."""

    REQUEST = "request", _("The client asked for erasure (GDPR Art. 17)")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("The client withdrew consent to the case file")
    RETENTION = "retention", _("The retention period has passed")


def _empty_encrypted(obj: models.Model) -> list[str]:
    """Empty every encrypted column of `obj` (in memory); returns their names for `save()`."""
    names = []
    for field in obj._meta.concrete_fields:
        if isinstance(field, EncryptedMixin):
            setattr(obj, field.attname, None if field.null else "")
            names.append(field.attname)
    return names


def _forget_admin_history(model: type[models.Model], pks: Iterable) -> None:
    # Django admin's own history keeps str(obj) (a pseudonym, a case reference) per change.
    pks = [str(pk) for pk in pks]
    if pks:
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        LogEntry.objects.filter(content_type=content_type, object_id__in=pks).delete()


def _delete_rows(queryset: models.QuerySet) -> None:
    _forget_admin_history(queryset.model, queryset.values_list("pk", flat=True))
    queryset.delete()


def _delete_files_on_commit(files: list[tuple]) -> None:
    files = [(storage, name) for storage, name in files if name]
    if files:
        transaction.on_commit(lambda: _delete_files(files))


def _delete_files(files: list[tuple]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:
            # The name is random (it says nothing about the person); an operator can remove it.
            logger.exception("Could not delete the erased file %s; delete it by hand.", name)


def _opaque_reference() -> str:
    while True:
        reference = ERASED_REFERENCE_PREFIX + secrets.token_hex(8)
        if not Case.objects.filter(reference=reference).exists():
            return reference


def _erase_case_rows(case: Case, files: list[tuple]) -> None:
    """Everything of one (locked) case except the register facts of its issued letters."""
    for model in (
        Note,
        Event,
        Consent,
        Assignment,
        Share,
        CaseLogEntry,
        CaseReference,
        CaseStatement,
        CaseProcedure,
    ):
        _delete_rows(model.objects.filter(case=case))
    documents = Document.objects.filter(case=case)
    storage = Document._meta.get_field("file").storage
    files += [(storage, name) for name in documents.values_list("file", flat=True)]
    _delete_rows(documents)

    in_register = [Letter.Status.ISSUED, Letter.Status.REVOKED]
    _delete_rows(Letter.objects.filter(case=case).exclude(status__in=in_register))
    for letter in Letter.objects.select_for_update().filter(case=case, status__in=in_register):
        if letter.pdf:
            files.append((letter.pdf.storage, letter.pdf.name))
        emptied = _empty_encrypted(letter)
        letter.signer_name = ""
        letter.revocation_reason = ""  # typed by staff: may name the person
        letter.pdf = ""
        # The hash stays: the verification page can still confirm a PDF an authority holds.
        # A letter not rendered yet never will be (there is no text left to render).
        if letter.render_status != Letter.RenderStatus.READY:
            letter.render_status = Letter.RenderStatus.NONE
        letter.save(
            update_fields=[
                *emptied,
                "signer_name",
                "revocation_reason",
                "pdf",
                "render_status",
                "updated_at",
            ]
        )
        _forget_admin_history(Letter, [letter.pk])

    # A failed batch's error message may quote the case reference.
    Batch.objects.filter(error__contains=case.reference).update(error="")
    case.grounds.clear()
    emptied = _empty_encrypted(case)
    case.reference = _opaque_reference()
    case.status = Case.Status.CLOSED
    case.closed_at = case.closed_at or timezone.localdate()
    case.retention_until = None
    case.erased_at = timezone.now()
    case.letter_name = None
    case.save(
        update_fields=[
            *emptied,
            "letter_name",
            "reference",
            "status",
            "closed_at",
            "retention_until",
            "erased_at",
            "updated_at",
        ]
    )
    _forget_admin_history(Case, [case.pk])


def _anonymise_client(client: Client) -> None:
    for model in (ClientName, ContactChannel, Relative):
        _delete_rows(model.objects.filter(client=client))
    emptied = _empty_encrypted(client)
    client.pseudonym = ERASED_PSEUDONYM
    # A multiple CountryField takes a list; django-stubs types it as the CharField it extends.
    client.citizenships = []  # type: ignore[assignment]
    client.languages = ""
    client.current_country = ""
    client.documents_held = ""
    client.gender = ""
    client.interpreter_language = ""
    client.do_not_contact = False
    client.name_index = ""  # the blind index of the names
    client.save(
        update_fields=[
            *emptied,
            "pseudonym",
            "citizenships",
            "languages",
            "current_country",
            "documents_held",
            "gender",
            "interpreter_language",
            "do_not_contact",
            "name_index",
            "updated_at",
        ]
    )
    _forget_admin_history(Client, [client.pk])


def client_erase(*, client: Client, by, reason: str, request=None) -> None:
    """Erase a client and every case of theirs, in one transaction; safe to run again.

    `reason` is an `ErasureReason` code. `request`, when given, puts its address and view in
    the access log entry."""
    if reason not in ErasureReason.values:
        raise ValueError(f"unknown erasure reason {reason!r}")
    files: list[tuple] = []
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        for case in Case.objects.select_for_update().filter(client=client, erased_at=None):
            _erase_case_rows(case, files)
        _anonymise_client(client)
        audit.record(request, audit.Action.ERASE, client, user=by)
        _delete_files_on_commit(files)
    logger.info("Client %s erased (%s).", client.pk, reason)


def _case_erase(case_id: int, *, by, request=None, expired_before=None) -> tuple[bool, bool]:
    files: list[tuple] = []
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.erased_at is not None:
            return False, False
        if expired_before is not None and not (
            case.status == Case.Status.CLOSED
            and case.retention_until is not None
            and case.retention_until < expired_before
        ):
            return False, False  # re-opened (or its date moved) since it was selected
        _erase_case_rows(case, files)
        audit.record(request, audit.Action.ERASE, case, user=by)
        client_erased = not Case.objects.filter(client_id=case.client_id, erased_at=None).exists()
        if client_erased:
            client = Client.objects.select_for_update().get(pk=case.client_id)
            _anonymise_client(client)
            audit.record(request, audit.Action.ERASE, client, user=by)
        _delete_files_on_commit(files)
    return True, client_erased


def case_erase(*, case: Case, by, request=None) -> bool:
    """Erase one case in one transaction (a no-op if it already is). When it was the client's
    last case that was not erased, the client is erased with it; returns whether it was."""
    return _case_erase(case.pk, by=by, request=request)[1]


def cases_erase_expired(*, today=None) -> dict[str, int]:
    """The scheduled job: erase every closed case whose retention date has passed (and each
    client left with erased cases only). Idempotent; one failing case does not stop the rest."""
    today = today or timezone.localdate()
    expired = Case.objects.filter(
        status=Case.Status.CLOSED, erased_at=None, retention_until__lt=today
    ).order_by("pk")
    counts = {"cases": 0, "clients": 0, "failed": 0}
    for case_id in list(expired.values_list("pk", flat=True)):
        try:
            erased, client_erased = _case_erase(case_id, by=None, expired_before=today)
        except Exception:
            logger.exception("Could not erase case %s.", case_id)
            counts["failed"] += 1
            continue
        counts["cases"] += erased
        counts["clients"] += client_erased
    return counts
