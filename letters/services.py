"""Letters: drafting, review, issuing with a register number, rendering, batches."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import Task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework import selectors as casework_selectors
from casework.models import Authority, Case, CaseLogEntry, Consent, Organisation
from casework.services import consent_is_active
from core.users import User
from letters.checks import letter_problems
from letters.context import letter_context
from letters.models import (
    Batch,
    DownloadLogEntry,
    Letter,
    LetterTemplate,
    LetterTemplateVersion,
    Paragraph,
    ParagraphVersion,
    Register,
    Signer,
    letter_text_hash,
)
from letters.rendering import html_to_pdf, letter_html
from letters.sandbox import TemplateError, render_template

logger = logging.getLogger(__name__)


@transaction.atomic
def template_save_version(
    *, template: LetterTemplate, by: User | None = None
) -> LetterTemplateVersion:
    """Record the template's current text as a new immutable version, unless it is unchanged."""
    current = template.current_version
    if current and current.body == template.body and current.subject == template.subject:
        return current
    return LetterTemplateVersion.objects.create(
        template=template,
        number=(current.number + 1) if current else 1,
        subject=template.subject,
        body=template.body,
        created_by=by,
    )


@transaction.atomic
def template_copy(
    *, template: LetterTemplate, organisation: Organisation, by: User
) -> LetterTemplate:
    """The organisation's own copy of a template (a shared default, usually), to adapt."""
    copy = LetterTemplate.objects.create(
        organisation=organisation,
        name=template.name,
        kind=template.kind,
        language=template.language,
        authority_kinds=template.authority_kinds,
        countries=template.countries,
        requires=template.requires,
        subject=template.subject,
        body=template.body,
    )
    template_save_version(template=copy, by=by)
    return copy


def default_signer(organisation: Organisation, language: str) -> Signer | None:
    """The organisation's default signer if they sign in this language, else its first
    active signer who does."""
    for signer in Signer.objects.filter(organisation=organisation, is_active=True):
        if signer.signs_in(language):
            return signer
    return None


def _no_consent_error() -> ValidationError:
    return ValidationError(
        _(
            "No letter can be written on this case: the client has not consented to "
            "letters, or has withdrawn the consent. Record the consent on the case page "
            "first."
        ),
        code="no_consent",
    )


def _require_letters_consent(case: Case) -> None:
    if not consent_is_active(case=case, purpose=Consent.Purpose.LETTERS):
        raise _no_consent_error()


def letter_draft(
    *,
    case: Case,
    template: LetterTemplate,
    authority: Authority,
    by: User,
    batch: Batch | None = None,
    replaces: Letter | None = None,
) -> Letter:
    """A new draft: the template's current version filled in with the case's data. Refused
    unless the client has consented to letters on this case (and not withdrawn it).

    `replaces`: an issued (or already revoked) letter of the same case that this one corrects;
    issuing the new letter revokes the old one, whose verification page then names it."""
    _require_letters_consent(case)
    if replaces is not None and (
        replaces.case_id != case.pk
        or replaces.status not in (Letter.Status.ISSUED, Letter.Status.REVOKED)
    ):
        raise ValidationError(
            _("Only an issued letter of the same case can be replaced."), code="bad_replaces"
        )
    version = template.current_version or template_save_version(template=template, by=by)
    context = letter_context(case=case, authority=authority, language=template.language)
    # The facts start from the case's statement for letters in this language, if there is one.
    statement = next((s for s in case.statements.all() if s.language == template.language), None)
    try:
        with translation.override(template.language):
            body = render_template(version.body, context)
            subject = render_template(version.subject, context) if version.subject else ""
    except TemplateError as error:
        raise ValidationError(
            _("The template “%(name)s” has an error: %(error)s"),
            params={"name": template.name, "error": error},
            code="template_error",
        ) from None
    with transaction.atomic():
        letter = Letter.objects.create(
            case=case,
            template_version=version,
            authority=authority,
            language=template.language,
            subject=subject.strip()[:300],
            body=body.strip(),
            facts=statement.text if statement else "",
            author=by,
            batch=batch,
            replaces=replaces,
        )
        if batch is None:
            case.log(by, CaseLogEntry.Action.LETTER, _("draft"))
    return letter


@transaction.atomic
def letter_update_text(
    *, letter: Letter, subject: str, body: str, facts: str | None = None, by: User
) -> Letter:
    """Change the text. The editor becomes its last editor, who may not approve it (the
    two-person rule); saving the same text again changes nothing."""
    # Compared with the stored text (a bound ModelForm has already changed `letter`), locked
    # so that an approval cannot slip in between.
    stored = Letter.objects.select_for_update().get(pk=letter.pk)
    if not stored.is_editable:
        raise ValidationError(_("An approved or issued letter can no longer be edited."))
    letter.subject, letter.body = subject, body
    letter.facts = stored.facts if facts is None else facts
    if letter_text_hash(letter) == letter_text_hash(stored):
        letter.subject, letter.body, letter.facts = stored.subject, stored.body, stored.facts
        return letter
    letter.last_edited_by = by
    letter.status = stored.status
    if letter.status == Letter.Status.IN_REVIEW:
        letter.status = Letter.Status.DRAFT  # a changed text must be reviewed again
    letter.save(
        update_fields=["subject", "body", "facts", "status", "last_edited_by", "updated_at"]
    )
    return letter


@transaction.atomic
def letter_correct(*, letter: Letter, by: User) -> Letter:
    """A draft that corrects an issued letter: the same template, addressee and text, to be
    edited, reviewed and issued as usual; issuing it revokes the letter it replaces."""
    template = letter.template_version.template
    correction = letter_draft(
        case=letter.case, template=template, authority=letter.authority, by=by, replaces=letter
    )
    correction.subject, correction.body, correction.facts = (
        letter.subject,
        letter.body,
        letter.facts,
    )
    correction.save(update_fields=["subject", "body", "facts"])
    return correction


@transaction.atomic
def letter_submit(*, letter: Letter, by: User) -> Letter:
    letter.submit_for_review()
    letter.case.log(by, CaseLogEntry.Action.LETTER, _("submitted for review"))
    return letter


@transaction.atomic
def letter_approve(
    *, letter: Letter, by: User, text_hash: str, signer: Signer | None = None
) -> Letter:
    """Approve the text whose hash (`letter_text_hash`) the reviewer was shown, and choose who
    signs it (by default, the organisation's default signer for the letter's language): refused,
    nothing changed, if the text has changed since, the reviewer wrote it last, or nobody can
    sign in the letter's language. The signer's name and title in that language are copied onto
    the letter, as they will be printed."""
    # Locked and read again: an edit saved a moment ago must be what is compared.
    letter.refresh_from_db(from_queryset=Letter.objects.select_for_update())
    signer = signer or default_signer(letter.case.organisation, letter.language)
    if signer is None or signer.organisation_id != letter.case.organisation_id:
        raise ValidationError(
            _(
                "Nobody can sign letters in %(language)s yet: an administrator adds a signer "
                "with a title in that language."
            ),
            params={"language": letter.language_name},
            code="no_signer",
        )
    if not signer.signs_in(letter.language):
        raise ValidationError(
            _("%(signer)s has no title in %(language)s: choose another signer."),
            params={"signer": signer, "language": letter.language_name},
            code="signer_language",
        )
    letter.sign_by(signer)
    letter.approve(by=by, text_hash=text_hash)
    letter.save(update_fields=["signer", "signer_name", "signer_title"])
    letter.case.log(by, CaseLogEntry.Action.LETTER, _("approved"))
    return letter


@transaction.atomic
def letter_return_to_draft(*, letter: Letter, by: User) -> Letter:
    """Take a letter under review back to the drafter's desk."""
    letter.return_to_draft()
    letter.case.log(by, CaseLogEntry.Action.LETTER, _("returned to draft"))
    return letter


# The outgoing-letter register -----------------------------------------------------------------


def register_number(organisation: Organisation, year: int, sequence: int) -> str:
    """How the organisation writes the number `sequence` of `year` (its letter_number_format)."""
    try:
        return organisation.letter_number_format.format(year=year, number=sequence)
    except (KeyError, IndexError, ValueError):
        return f"{year}/{sequence}"


def register_take(
    *, organisation: Organisation, year: int, count: int
) -> tuple[Register, list[int]]:
    """Take the next `count` consecutive numbers of the organisation's register for `year`.

    The only way numbers are given out (issuing, bulk seeding). Must run inside the transaction
    that saves the numbered letters: the register row stays locked until it commits, so
    concurrent issuing queues up behind it, and a rollback gives the numbers back, so the
    register has no gaps."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("register_take must run inside the transaction that uses the numbers")
    Register.objects.get_or_create(organisation=organisation, year=year)
    register = Register.objects.select_for_update().get(organisation=organisation, year=year)
    first = register.last_number + 1
    register.last_number += count
    register.save(update_fields=["last_number"])
    return register, list(range(first, register.last_number + 1))


def enqueue(task: Task, *args: int | list[int]) -> bool:
    """Send a task to the queue; False, logged, if the broker does not take it (down, full).

    The database is the truth: an issued letter or a new batch is committed before its task
    is sent, and the `requeue_stuck_letters` sweep (beat, every minute) sends again what is
    still waiting, so a broker that is down only delays the work. The publish retry policy
    (CELERY_TASK_PUBLISH_RETRY_POLICY) keeps the wait short, so a request does not hang on it."""
    try:
        task.delay(*args)
    except Exception as error:  # kombu's OperationalError, a socket error, a full disk
        logger.warning(
            "queue unavailable, %s(%s) left to the sweep: %s",
            task.name,
            ", ".join(str(arg) for arg in args),
            type(error).__name__,
        )
        return False
    return True


@dataclass
class Issued:
    """What `letters_issue` did: the letters, numbered, and, once the transaction has committed,
    whether every one of their renderings reached the queue (False: the broker was down, and
    the requeue sweep will send them when it is back)."""

    letters: list[Letter]
    render_queued: bool | None = None  # None until the commit


# A render task takes up to RENDER_CHUNK letters: a Celery task costs ~9 ms of worker CPU and
# ~2 ms to send, 4 % of a letter's 240 ms. The last RENDER_TAIL letters of an issue go one per
# task, so that at the end both pool processes finish together instead of one waiting for the
# other's last chunk (up to 2 s of eight letters).
RENDER_CHUNK = 8
RENDER_TAIL = 64


def render_chunks(letter_ids: list[int]) -> list[list[int]]:
    head = letter_ids[: max(0, len(letter_ids) - RENDER_TAIL)]
    tail = letter_ids[len(head) :]
    return [head[i : i + RENDER_CHUNK] for i in range(0, len(head), RENDER_CHUNK)] + [
        [letter_id] for letter_id in tail
    ]


def _enqueue_renders(letters: list[Letter]) -> bool:
    """After the commit: queue the letters' rendering (`render_chunks`). After the first
    failure the rest are not tried (the broker is down) and wait for the sweep too."""
    # letters.tasks imports this module (its tasks are thin wrappers of these services).
    from letters.tasks import render_letters

    # all() stops at the first refusal.
    return all(enqueue(render_letters, chunk) for chunk in render_chunks([x.pk for x in letters]))


def _text_changed_error(letter: Letter) -> ValidationError:
    return ValidationError(
        _(
            "The text of the letter for case %(ref)s is not the text that was approved. Nothing "
            "was issued: send it back to draft and have it reviewed again."
        ),
        params={"ref": letter.case.reference},
        code="text_changed",
    )


@transaction.atomic
def letters_issue(*, letters: list[Letter], by: User) -> Issued:
    """Issue approved letters with consecutive numbers from their organisation's register
    (`register_take`). Rendering is queued only after the commit; with the queue down the
    letters stay issued and pending (`render_queued` False) until the requeue sweep sends
    them."""
    result = Issued(letters=[])
    if not letters:
        return result
    # Checked before any number is taken: a refusal changes nothing. What the checks read is
    # fetched for all the letters at once.
    prefetch_related_objects(
        letters, "case__references", "case__organisation__identities", "template_version__template"
    )
    for letter in letters:
        if letter.status != Letter.Status.APPROVED:
            continue  # refused below, with the register locked (its status may change)
        problems = letter_problems(letter)
        if letter.signer_id is None:
            problems.append(_("Nobody was chosen to sign it: approve it again."))
        if problems:
            heading = _("The letter for case %(ref)s cannot be issued yet:")
            raise ValidationError(
                [heading % {"ref": letter.case.reference}, *problems], code="checks"
            )
    organisation = letters[0].case.organisation
    now = timezone.now()
    register, numbers = register_take(
        organisation=organisation, year=timezone.localdate(now).year, count=len(letters)
    )
    locked = {
        letter.pk: letter
        for letter in Letter.objects.select_for_update().filter(pk__in=[x.pk for x in letters])
    }
    # Consent may have been withdrawn since the drafts were written: one query for all.
    consented = set(
        Consent.objects.filter(
            case_id__in={x.case_id for x in letters},
            purpose=Consent.Purpose.LETTERS,
            withdrawn_on=None,
        ).values_list("case_id", flat=True)
    )
    # What each letter lists as enclosed is frozen now, with its text: one query for all.
    enclosed = casework_selectors.enclosures_by_case({x.case_id for x in letters})
    issued, history = result.letters, []
    for original, sequence in zip(letters, numbers, strict=True):
        letter = locked[original.pk]
        if letter.status != Letter.Status.APPROVED:
            raise ValidationError(
                _(
                    "Only an approved letter can be issued (the letter for case %(ref)s is "
                    "“%(status)s”)."
                ),
                params={"ref": original.case.reference, "status": letter.get_status_display()},
                code="not_approved",
            )
        if letter.case_id not in consented:
            raise _no_consent_error()
        if letter_text_hash(letter) != letter.reviewed_hash:
            raise _text_changed_error(original)
        letter.register = register
        letter.sequence = sequence
        letter.number = register_number(organisation, register.year, sequence)
        letter.status = Letter.Status.ISSUED
        letter.issued_at, letter.issued_by = now, by
        letter.render_status = Letter.RenderStatus.PENDING
        letter.updated_at = now
        letter.enclosures = "\n".join(enclosed.get((letter.case_id, letter.language), []))
        history.append(
            CaseLogEntry(
                case_id=letter.case_id,
                actor=by,
                action=CaseLogEntry.Action.LETTER,
                detail=(
                    _("issued as %(number)s in batch #%(batch)s")
                    % {"number": letter.number, "batch": letter.batch_id}
                    if letter.batch_id
                    else _("issued as %s") % letter.number
                ),
            )
        )
        issued.append(letter)
    # A corrected letter's predecessor is revoked in the same transaction.
    replaced = {letter.replaces_id: letter.number for letter in issued if letter.replaces_id}
    for old in Letter.objects.select_for_update().filter(
        pk__in=replaced, status=Letter.Status.ISSUED
    ):
        old.revoke(reason=_("Replaced by %s") % replaced[old.pk])
        history.append(
            CaseLogEntry(
                case_id=old.case_id,
                actor=by,
                action=CaseLogEntry.Action.LETTER,
                detail=_("revoked %s") % old.number,
            )
        )
    # One UPDATE per 500 letters instead of one per letter (a batch of 1,362 issues in ~1 s).
    Letter.objects.bulk_update(
        issued,
        [
            "register",
            "sequence",
            "number",
            "status",
            "issued_at",
            "issued_by",
            "render_status",
            "updated_at",
        ],
        batch_size=500,
    )
    # Encrypted, so written by save(), not bulk_update(): only the letters that enclose anything.
    for letter in issued:
        if letter.enclosures:
            letter.save(update_fields=["enclosures"])
    CaseLogEntry.objects.bulk_create(history, batch_size=500)

    def after_commit() -> None:
        result.render_queued = _enqueue_renders(issued)

    transaction.on_commit(after_commit)
    return result


def letter_issue(*, letter: Letter, by: User) -> Letter:
    """Issue one letter (see `letters_issue`)."""
    return letters_issue(letters=[letter], by=by).letters[0]


@transaction.atomic
def letter_revoke(*, letter: Letter, reason: str, by: User) -> Letter:
    letter.revoke(reason=reason)
    letter.case.log(by, CaseLogEntry.Action.LETTER, _("revoked %s") % letter.number)
    return letter


def letter_retry_render(*, letter: Letter) -> Letter:
    updated = Letter.objects.filter(pk=letter.pk, render_status=Letter.RenderStatus.FAILED).update(
        render_status=Letter.RenderStatus.PENDING, render_error="", render_task_id=""
    )
    letter.refresh_from_db()
    if updated:
        transaction.on_commit(lambda: _enqueue_renders([letter]))
    return letter


def letters_downloaded(*, letters: list[Letter], by: User) -> None:
    """Record who downloaded which letters' PDFs (shown to the letter's readers)."""
    DownloadLogEntry.objects.bulk_create(
        DownloadLogEntry(letter=letter, user=by) for letter in letters
    )


# A claim older than this is taken to belong to a worker that died (rendering takes seconds).
STALE_CLAIM = timedelta(minutes=2)


def letter_render(*, letter_id: int, task_id: str) -> str:
    """Render one issued letter to PDF and store it. Safe to run again: a ready letter is left
    alone, and only one task holds the claim at a time. The same task id may take its claim back
    (Celery redelivers a message with its id after a worker crash), and a claim left stale by a
    dead worker may be taken over by the recovery sweep."""
    # Everything letter_html reads, in three queries; read before the claim (which alone
    # decides) to know whether an earlier attempt may have stored a file under this name.
    letter = (
        Letter.objects.select_related("case__organisation", "authority", "signer")
        .prefetch_related("case__references", "case__organisation__identities")
        .filter(pk=letter_id)
        .first()
    )
    if letter is None:
        return "skipped"
    fresh = letter.render_status == Letter.RenderStatus.PENDING and not letter.render_attempts
    now = timezone.now()
    claimable = Q(render_status__in=[Letter.RenderStatus.PENDING, Letter.RenderStatus.FAILED]) | Q(
        render_status=Letter.RenderStatus.RENDERING
    ) & (Q(render_task_id=task_id) | Q(render_claimed_at__lt=now - STALE_CLAIM))
    claimed = (
        Letter.objects.filter(claimable, pk=letter_id)
        .filter(status__in=[Letter.Status.ISSUED, Letter.Status.REVOKED])
        .update(
            render_status=Letter.RenderStatus.RENDERING,
            render_task_id=task_id,
            render_claimed_at=now,
        )
    )
    if not claimed:
        return "skipped"
    pdf = html_to_pdf(letter_html(letter))
    name = f"letters/{letter.issued_at:%Y}/{letter.pk}-{letter.verification_token[:8]}.pdf"
    # A letter never claimed before has no file; after a failed or interrupted attempt one
    # may be there (stored, not yet recorded): replaced, not kept beside the new one.
    if not fresh and default_storage.exists(name):
        default_storage.delete(name)
    stored_name = default_storage.save(name, ContentFile(pdf))
    Letter.objects.filter(pk=letter_id, render_task_id=task_id).update(
        pdf=stored_name,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        pdf_size=len(pdf),
        render_status=Letter.RenderStatus.READY,
        render_error="",
        rendered_at=timezone.now(),
        render_attempts=F("render_attempts") + 1,
    )
    if letter.batch_id:
        # The letter is ready (committed above) whatever happens now: a database that stops
        # answering here must not make the task try the letter again and call it "skipped".
        # Its batch is then marked finished by the next sweep (batches_finish_done).
        try:
            _batch_finish_if_done(letter.batch_id)
        except (OperationalError, InterfaceError):
            logger.warning("letter %s is ready; its batch is left to the sweep", letter_id)
    return "ready"


def letters_requeue_stuck(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Queue rendering again for issued letters that have waited too long: their message was
    lost with a broker restart, or their worker died and the broker has not redelivered yet.
    Duplicates are harmless: the claim in `letter_render` lets only one task render."""
    # letters.tasks imports this module (its tasks are thin wrappers of these services).
    from letters.tasks import render_letters

    now = timezone.now()
    stuck = list(
        Letter.objects.filter(
            Q(render_status=Letter.RenderStatus.PENDING, issued_at__lt=now - older_than)
            | Q(
                render_status=Letter.RenderStatus.RENDERING,
                render_claimed_at__lt=now - STALE_CLAIM,
            )
        ).values_list("pk", flat=True)
    )
    for chunk in render_chunks(stuck):
        render_letters.delay(chunk)
    return len(stuck)


def batches_requeue_stuck(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Queue the preparation again for batches still preparing after `older_than`: their
    message was lost (the broker was down when the batch was started, or restarted since).
    A duplicate finds the batch prepared and does nothing (see `batch_prepare`)."""
    # letters.tasks imports this module (its tasks are thin wrappers of these services).
    from letters.tasks import prepare_batch

    # A batch that waited for a second person's approval is prepared from its approval on.
    stuck = (
        Batch.objects.filter(status=Batch.Status.PREPARING)
        .alias(ready_at=Coalesce("approved_at", "created_at"))
        .filter(ready_at__lt=timezone.now() - older_than)
        .values_list("pk", flat=True)
    )
    count = 0
    for batch_id in stuck.iterator():
        prepare_batch.delay(batch_id)
        count += 1
    return count


def letter_render_failed(*, letter_id: int, reason: str) -> None:
    Letter.objects.filter(pk=letter_id).exclude(render_status=Letter.RenderStatus.READY).update(
        render_status=Letter.RenderStatus.FAILED,
        render_error=reason[:500],
        render_attempts=F("render_attempts") + 1,
    )
    batch_id = Letter.objects.filter(pk=letter_id).values_list("batch_id", flat=True).first()
    if batch_id:
        _batch_finish_if_done(batch_id)


def batches_finish_done() -> int:
    """Mark finished the rendering batches none of whose letters waits for a worker any more
    (their last letter's worker could not say so: the database stopped answering, or the
    worker died between storing the letter and looking at its batch). For the sweep."""
    return _batches_done(Batch.objects.filter(status=Batch.Status.RENDERING)).update(
        status=Batch.Status.FINISHED
    )


def _batches_done(batches: QuerySet[Batch]) -> QuerySet[Batch]:
    waiting = Letter.objects.filter(batch=OuterRef("pk")).exclude(
        render_status__in=[Letter.RenderStatus.READY, Letter.RenderStatus.FAILED]
    )
    return batches.exclude(Exists(waiting))


def _batch_finish_if_done(batch_id: int) -> None:
    """A rendering batch is finished once none of its letters waits for a worker. Run by the
    worker after each of its letters: the last one to finish marks it."""
    _batches_done(Batch.objects.filter(pk=batch_id, status=Batch.Status.RENDERING)).update(
        status=Batch.Status.FINISHED
    )


BATCH_MAX = 2000


def batch_start(
    *,
    organisation: Organisation,
    template: LetterTemplate,
    authority: Authority,
    case_ids: list[int],
    by: User,
) -> tuple[Batch, bool]:
    """Save a batch that fills `template` in for these cases. With LETTERS_BATCH_TWO_PERSON_RULE
    it waits for a second person's approval (`batch_approve`); without, its preparation
    (`batch_prepare`, in a worker) is queued at once. Returns the batch and whether the queue
    took it (True when nothing was to be sent); if not, the sweep sends it again later."""
    if not case_ids:
        raise ValidationError(_("No case matches these filters."), code="empty")
    if len(case_ids) > BATCH_MAX:
        raise ValidationError(
            ngettext(
                "A batch can hold at most %(max)s letter.",
                "A batch can hold at most %(max)s letters.",
                BATCH_MAX,
            ),
            params={"max": BATCH_MAX},
            code="too_many",
        )
    waits = settings.LETTERS_BATCH_TWO_PERSON_RULE
    batch = Batch.objects.create(
        organisation=organisation,
        kind=Batch.Kind.TEMPLATE,
        template=template,
        authority=authority,
        language=template.language,
        case_ids=list(case_ids),
        status=Batch.Status.AWAITING_APPROVAL if waits else Batch.Status.PREPARING,
        created_by=by,
    )
    if waits:
        return batch, True
    return batch, _enqueue_preparation(batch)


def _enqueue_preparation(batch: Batch) -> bool:
    # letters.tasks imports this module (its tasks are thin wrappers of these services).
    from letters.tasks import prepare_batch

    sent = []
    # After the commit: at once when no transaction is open (a view), else when it commits.
    transaction.on_commit(lambda: sent.append(enqueue(prepare_batch, batch.pk)))
    return all(sent)


def batch_approve(*, batch: Batch, by: Any) -> bool:
    """A second person approves a template batch that waits for it, which queues its
    preparation. Refused if its starter tries. Returns whether the queue took it."""
    with transaction.atomic():
        batch.refresh_from_db(from_queryset=Batch.objects.select_for_update())
        batch.approve(by=by)
    return _enqueue_preparation(batch)


def batch_prepare(*, batch: Batch) -> Batch:
    """Draft, approve and issue one letter per case of a template batch; rendering follows on
    commit.

    The letters are approved by the batch's approval: by the second person who approved it
    (LETTERS_BATCH_TWO_PERSON_RULE), or, with that rule off, by the coordinator who started it
    (who is not the author of a batch letter: the batch is). Cases without an active consent
    to letters are skipped and listed in `skipped_case_ids`. Each case's history records the
    drafting, the approval and the number."""
    template, authority = batch.template, batch.authority
    if template is None or authority is None:
        raise ValueError(f"batch {batch.pk} has no template to fill in")
    in_org = Case.objects.filter(pk__in=batch.case_ids, organisation=batch.organisation)
    consented = Exists(
        Consent.objects.filter(
            case=OuterRef("pk"), purpose=Consent.Purpose.LETTERS, withdrawn_on=None
        )
    )
    consenting = (
        in_org.filter(consented)
        .select_related("client", "organisation")
        .prefetch_related(
            "grounds", "client__names", "references", "statements", "organisation__identities"
        )
        .order_by("reference")
    )
    with transaction.atomic():
        # One preparation per batch: a second task for it (sent again by the sweep while the
        # first was running) waits here for the first to commit, then finds nothing to do.
        if (
            not Batch.objects.select_for_update()
            .filter(pk=batch.pk, status=Batch.Status.PREPARING)
            .exists()
        ):
            return batch
        cases = list(consenting)
        batch.refused = {}
        batch.skipped_case_ids = sorted(in_org.exclude(consented).values_list("pk", flat=True))
        approver = batch.approved_by or batch.created_by
        signer = default_signer(batch.organisation, batch.language or "")
        now = timezone.now()
        letters, history = [], []
        for case in cases:
            try:
                letter = letter_draft(
                    case=case,
                    template=template,
                    authority=authority,
                    by=batch.created_by,
                    batch=batch,
                )
            except ValidationError as error:
                # The template failed for this case (its letter too long with this case's
                # data): listed like the letters that fail the checks; the others go on.
                batch.refused[case.reference] = error.messages
                continue
            problems = letter_problems(letter)
            if problems:  # not issued: listed on the batch's page, the draft removed
                batch.refused[case.reference] = problems
                letter.delete()
                continue
            letter.status = Letter.Status.APPROVED
            letter.approved_by, letter.approved_at = approver, now
            letter.reviewed_hash = letter_text_hash(letter)
            if signer is not None:
                letter.sign_by(signer)
            letters.append(letter)
            history += [
                CaseLogEntry(
                    case_id=case.pk,
                    actor=batch.created_by,
                    action=CaseLogEntry.Action.LETTER,
                    detail=_("drafted in batch #%s") % batch.pk,
                ),
                CaseLogEntry(
                    case_id=case.pk,
                    actor=approver,
                    action=CaseLogEntry.Action.LETTER,
                    detail=_("approved in batch #%s") % batch.pk,
                ),
            ]
        Letter.objects.bulk_update(
            letters,
            [
                "status",
                "approved_by",
                "approved_at",
                "reviewed_hash",
                "signer",
                "signer_name",
                "signer_title",
            ],
            batch_size=500,
        )
        CaseLogEntry.objects.bulk_create(history, batch_size=500)
        letters_issue(letters=letters, by=batch.created_by)
        batch.case_ids = [letter.case_id for letter in letters]
        # With nothing to render (every case skipped or refused), there is nothing to wait for.
        batch.status = Batch.Status.RENDERING if letters else Batch.Status.FINISHED
        batch.save(update_fields=["status", "case_ids", "skipped_case_ids", "refused"])
    return batch


@dataclass
class ApprovedBatch:
    """What `batch_issue_approved` did: the batch (None if no letter could be issued), the
    letters it refused with the reason, and whether the renderings reached the queue."""

    batch: Batch | None
    refused: list[tuple[Letter, str]]
    issued: Issued | None = None


def batch_issue_approved(*, organisation: Any, letters: list[Letter], by: Any) -> ApprovedBatch:
    """Issue a selection of individually approved letters together: one batch, consecutive
    numbers (`letters_issue`), one ZIP. Each letter keeps its own text and approval. A letter
    that is not approved, whose text changed since it was reviewed, or whose client has
    withdrawn the consent is refused and listed; the others are issued. Nothing is issued (and
    no batch made) if none is valid."""
    if len(letters) > BATCH_MAX:
        raise ValidationError(
            ngettext(
                "A batch can hold at most %(max)s letter.",
                "A batch can hold at most %(max)s letters.",
                BATCH_MAX,
            ),
            params={"max": BATCH_MAX},
            code="too_many",
        )
    refused: list[tuple[Letter, str]] = []
    with transaction.atomic():
        locked = list(
            Letter.objects.select_for_update()
            .filter(pk__in=[x.pk for x in letters], case__organisation=organisation)
            .select_related("case")
            .order_by("case__reference", "pk")
        )
        consented = set(
            Consent.objects.filter(
                case_id__in={x.case_id for x in locked},
                purpose=Consent.Purpose.LETTERS,
                withdrawn_on=None,
            ).values_list("case_id", flat=True)
        )
        valid = []
        for letter in locked:
            if letter.status != Letter.Status.APPROVED:
                reason = _("it is “%(status)s”, not approved") % {
                    "status": letter.get_status_display()
                }
            elif letter.text_changed_since_review:
                reason = _("its text changed after it was approved")
            elif letter.case_id not in consented:
                reason = _("the client has not consented to letters, or has withdrawn it")
            else:
                valid.append(letter)
                continue
            refused.append((letter, reason))
        if not valid:
            return ApprovedBatch(batch=None, refused=refused)
        batch = Batch.objects.create(
            organisation=organisation,
            kind=Batch.Kind.APPROVED,
            case_ids=[letter.case_id for letter in valid],
            status=Batch.Status.RENDERING,
            created_by=by,
        )
        Letter.objects.filter(pk__in=[x.pk for x in valid]).update(batch=batch)
        for letter in valid:
            letter.batch = batch
        issued = letters_issue(letters=valid, by=by)
    return ApprovedBatch(batch=batch, refused=refused, issued=issued)


# --- the paragraph library ------------------------------------------------------------------


@transaction.atomic
def paragraph_save_version(*, paragraph: Paragraph, by: User | None = None) -> ParagraphVersion:
    """Record the paragraph's text, sources and check date as a new immutable version, unless
    they are those of its current version."""
    current = paragraph.current_version
    if current and (current.text, current.sources, current.checked_on) == (
        paragraph.text,
        paragraph.sources,
        paragraph.checked_on,
    ):
        return current
    return ParagraphVersion.objects.create(
        paragraph=paragraph,
        number=(current.number + 1) if current else 1,
        text=paragraph.text,
        sources=paragraph.sources,
        checked_on=paragraph.checked_on,
        created_by=by,
    )


def paragraph_fits_letter(paragraph: Paragraph, letter: Letter) -> bool:
    """Active, in the letter's language, and shared or of the letter's organisation."""
    return (
        paragraph.is_active
        and paragraph.language == letter.language
        and paragraph.organisation_id in (None, letter.case.organisation_id)
    )


@transaction.atomic
def letter_insert_paragraph(*, letter: Letter, paragraph: Paragraph, by: User) -> Letter:
    """Append the paragraph's current text to the letter's facts as a new paragraph. An edit
    like any other (letter_update_text): the inserter becomes the last editor, and the case
    history names the paragraph and the version inserted."""
    if not paragraph_fits_letter(paragraph, letter):
        raise ValidationError(
            _("This paragraph cannot be used in this letter."), code="paragraph_scope"
        )
    # Locked and read again: the facts as they are now, not as a page showed them.
    stored = Letter.objects.select_for_update().get(pk=letter.pk)
    if not stored.is_editable:
        raise ValidationError(_("An approved or issued letter can no longer be edited."))
    version = paragraph_save_version(paragraph=paragraph)
    facts = "\n\n".join(part for part in (stored.facts.rstrip(), version.text.strip()) if part)
    limit = Letter._meta.get_field("facts").max_length
    if limit is not None and len(facts) > limit:
        raise ValidationError(
            _("The facts would be too long with this paragraph. Shorten them first."),
            code="facts_too_long",
        )
    letter = letter_update_text(
        letter=stored, subject=stored.subject, body=stored.body, facts=facts, by=by
    )
    detail = _("paragraph inserted: %(title)s v%(number)s") % {
        "title": paragraph.title,
        "number": version.number,
    }
    letter.case.log(by, CaseLogEntry.Action.LETTER, detail[:300])
    return letter
