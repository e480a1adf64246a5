"""Writes that touch several rows, files or the history: each in one transaction."""

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casework import audit, deadlines, referrals, selectors
from casework.capabilities import Capability
from casework.importing import (
    ImportPlan,
    RowPlan,
    error_report,
    plan_import,
    read_stored_sheet,
)
from casework.models import (
    Assignment,
    Case,
    CaseLogEntry,
    CaseProcedure,
    CaseReference,
    CaseStatement,
    ChecklistEntry,
    Client,
    ClientName,
    Consent,
    ContactChannel,
    DailyRun,
    Document,
    DuplicateAlert,
    Event,
    Ground,
    Note,
    Organisation,
    Procedure,
    Relative,
    SpreadsheetImport,
)
from casework.names import reference_index
from core.spreadsheets import write_csv
from core.uploads import name_for_type
from core.users import User


@transaction.atomic
def case_open(
    *,
    organisation: Organisation,
    client: Client,
    names: Sequence[ClientName],
    contacts: Sequence[ContactChannel] = (),
    case: Case,
    grounds: Iterable[Ground],
    by: User,
) -> Case:
    """Intake: a new client with their names and a first case. Whoever records it stays on it
    unless they can see every case anyway, so that a volunteer does not lose the case they just
    created."""
    client.organisation = organisation
    client.save()
    rows: list[ClientName | ContactChannel] = [*names, *contacts]
    for row in rows:
        row.client = client
        row.save()
    client.reindex_names()
    case.organisation = organisation
    case.client = client
    year = case.opened_at.year if case.opened_at else None
    for _attempt in range(5):
        # Two intakes at the same moment may draw the same reference: draw again.
        case.reference = Case.next_reference(year)
        try:
            with transaction.atomic():
                case.save()
            break
        except IntegrityError:
            case.pk = None
    else:
        raise IntegrityError("could not find a free case reference")
    case.grounds.set(grounds)
    if not by.membership.can(Capability.VIEW_ALL_CASES):
        Assignment.objects.create(case=case, user=by, assigned_by=by)
    case.log(by, CaseLogEntry.Action.CREATED)
    return case


@transaction.atomic
def case_update(
    *, case: Case, changed_fields: list[str], grounds: Iterable[Ground] | None = None, by: User
) -> Case:
    case.save()
    if grounds is not None:
        case.grounds.set(grounds)
    if changed_fields:
        case.log(by, CaseLogEntry.Action.UPDATED, ", ".join(changed_fields))
    return case


@transaction.atomic
def client_update(*, case: Case, client: Client, changed_fields: list[str], by: User) -> Client:
    client.save()
    client.reindex_names()
    if changed_fields:
        case.log(by, CaseLogEntry.Action.CLIENT_UPDATED, ", ".join(changed_fields))
    return client


@transaction.atomic
def case_change_status(*, case: Case, status: str, by: User) -> Case:
    """Closing a case starts its retention period (PRISTAN_RETENTION_DAYS), after which the
    scheduled job erases it; re-opening it stops the clock."""
    # Lock the row so that two people changing the status at once cannot skip a transition.
    locked = Case.objects.select_for_update().get(pk=case.pk)
    locked.change_status(status, by=by)
    # change_status sets closed_at exactly when it closes the case.
    if locked.closed_at is not None:
        locked.retention_until = locked.closed_at + timedelta(days=settings.PRISTAN_RETENTION_DAYS)
    else:
        locked.retention_until = None
    locked.save(update_fields=["retention_until"])
    case.status, case.closed_at = locked.status, locked.closed_at
    case.retention_until = locked.retention_until
    return case


def consent_is_active(*, case: Case, purpose: str) -> bool:
    return case.consents.filter(purpose=purpose, withdrawn_on=None).exists()


@transaction.atomic
def consent_record(*, case: Case, purpose: str, by: User) -> Consent:
    """The client's consent to one purpose, given today; an active consent is kept as it is."""
    if purpose not in Consent.Purpose.values:
        raise ValidationError(_("Choose a purpose of consent from the list."), code="purpose")
    Case.objects.select_for_update().filter(pk=case.pk).first()  # one recorder at a time
    active = case.consents.filter(purpose=purpose, withdrawn_on=None).first()
    if active is not None:
        return active
    consent = Consent.objects.create(case=case, purpose=purpose, recorded_by=by)
    case.log(by, CaseLogEntry.Action.CONSENT, consent.get_purpose_display())
    return consent


@transaction.atomic
def consent_withdraw(*, consent: Consent, by: User) -> Consent:
    """Withdrawn from today on; the record of the consent stays (when it was given)."""
    consent = Consent.objects.select_for_update().select_related("case").get(pk=consent.pk)
    if consent.withdrawn_on is None:
        consent.withdrawn_on = timezone.localdate()
        consent.save(update_fields=["withdrawn_on"])
        consent.case.log(
            by,
            CaseLogEntry.Action.CONSENT,
            _("%(purpose)s: withdrawn") % {"purpose": consent.get_purpose_display()},
        )
        if consent.purpose == Consent.Purpose.SHARING:
            referrals.referrals_end_on_withdrawn_consent(case=consent.case, by=by)
    return consent


@transaction.atomic
def case_assign(*, case: Case, users: Collection[User], by: User) -> Case:
    allowed = set(selectors.assignable_users(case.organisation).values_list("pk", flat=True))
    if any(u.pk not in allowed for u in users):
        raise ValidationError(_("Only active staff of the case's organisation can be assigned."))
    current = set(case.assignments.values_list("user_id", flat=True))
    wanted = {u.pk for u in users}
    for user in users:
        if user.pk not in current:
            Assignment.objects.create(case=case, user=user, assigned_by=by)
            case.log(by, CaseLogEntry.Action.ASSIGNED, user.get_username())
    removed = current - wanted
    for assignment in case.assignments.filter(user_id__in=removed).select_related("user"):
        case.log(by, CaseLogEntry.Action.UNASSIGNED, assignment.user.get_username())
        assignment.delete()
    return case


@transaction.atomic
def relative_add(*, case: Case, relative: Relative, by: User) -> Relative:
    relative.client = case.client
    relative.save()
    case.log(by, CaseLogEntry.Action.RELATIVE, relative.get_relation_display())
    return relative


@transaction.atomic
def event_add(*, case: Case, event: Event, by: User) -> Event:
    """Record an event; a decision or an arrival that a deadline rule covers brings its
    computed deadline with it (casework.deadlines)."""
    event.case = case
    event.created_by = by
    event.is_deadline = event.is_deadline or event.kind in Event.DEADLINE_KINDS
    event.save()
    case.log(by, CaseLogEntry.Action.EVENT, event.get_kind_display())
    _log_computed(case, deadlines.sync_computed(event, by=by), by=by)
    return event


@transaction.atomic
def event_update(*, event: Event, changed_fields: list[str], by: User) -> Event:
    """Save an edited event. Its computed deadline follows it; a computed deadline that is
    itself edited becomes the user's, and no longer follows its source."""
    if event.source_id is not None and changed_fields:
        event.changed_by_hand = True
    event.is_deadline = event.is_deadline or event.kind in Event.DEADLINE_KINDS
    event.save()
    case = event.case
    if changed_fields:
        case.log(by, CaseLogEntry.Action.EVENT_CHANGED, event.get_kind_display())
    _log_computed(case, deadlines.sync_computed(event, by=by), by=by)
    return event


@transaction.atomic
def event_delete(*, event: Event, by: User) -> None:
    """Delete an event and the deadline computed from it, unless someone changed that one by
    hand (it then stays, on its own)."""
    case = event.case
    event.computed.filter(changed_by_hand=False).delete()
    kind = event.get_kind_display()
    event.delete()
    case.log(by, CaseLogEntry.Action.EVENT_DELETED, kind)


def _log_computed(case: Case, computed: list[Event], *, by: User) -> None:
    for deadline in computed:
        case.log(
            by,
            CaseLogEntry.Action.EVENT,
            _("%(kind)s: computed") % {"kind": deadline.get_kind_display()},
        )


@transaction.atomic
def event_mark_done(*, event: Event, by: User) -> Event:
    event.done = True
    event.save(update_fields=["done"])
    event.case.log(by, CaseLogEntry.Action.EVENT_DONE, event.get_kind_display())
    return event


@transaction.atomic
def note_add(*, case: Case, body: str, by: User) -> Note:
    note = Note.objects.create(case=case, author=by, body=body)
    case.log(by, CaseLogEntry.Action.NOTE)
    return note


@transaction.atomic
def document_upload(
    *,
    case: Case,
    upload: "UploadedFile[bytes]",
    kind: str,
    title: str,
    content_type: str,
    by: User,
) -> Document:
    if upload.name is None or upload.size is None:
        # Django names and measures every upload (a nameless one failed at `name[:255]`).
        raise TypeError("the upload has no name or no size")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    document = Document(
        case=case,
        kind=kind,
        title=title,
        # The detected type's extension, never the uploader's (poly.html → poly.pdf).
        original_name=name_for_type(upload.name[:250], content_type),
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=by,
    )
    document.file.save("upload", upload, save=False)
    # If the row cannot be written, the stored file must not stay behind without an owner.
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    case.log(by, CaseLogEntry.Action.DOCUMENT, document.get_kind_display())
    return document


@transaction.atomic
def reference_save(*, case: Case, reference: CaseReference, by: User) -> CaseReference:
    """Add or change one of the case's procedure references. The history names its kind,
    never its number; the fields the kind does not use are emptied."""
    adding = reference.pk is None
    reference.case = case
    reference.value = reference.value.strip()
    reference.value_index = reference_index(reference.value)
    if reference.kind not in CaseReference.KINDS_WITH_DATE:
        reference.date = None
    if reference.kind not in CaseReference.KINDS_WITH_COURT:
        reference.court = ""
    if reference.kind not in CaseReference.KINDS_WITH_JUDGE:
        reference.judge = ""
    reference.save()
    kind = reference.get_kind_display()
    detail = _("%(kind)s: added") if adding else _("%(kind)s: changed")
    case.log(by, CaseLogEntry.Action.REFERENCE, detail % {"kind": kind})
    return reference


@transaction.atomic
def reference_delete(*, reference: CaseReference, by: User) -> None:
    case = reference.case
    kind = reference.get_kind_display()
    reference.delete()
    case.log(by, CaseLogEntry.Action.REFERENCE, _("%(kind)s: deleted") % {"kind": kind})


@transaction.atomic
def statement_save(*, case: Case, language: str, text: str, by: User) -> CaseStatement:
    """Write the case's statement for letters in one language (one per language). The history
    names the language, never the text."""
    if language not in dict(settings.LETTER_LANGUAGES):
        raise ValidationError(_("Choose a language of letters."), code="language")
    statement = (
        CaseStatement.objects.select_for_update().filter(case=case, language=language).first()
    )
    adding = statement is None
    if statement is None:
        statement = CaseStatement(case=case, language=language)
    statement.text = text
    statement.updated_by = by
    statement.save()
    language_name = dict(settings.LETTER_LANGUAGES)[language]
    detail = _("%(language)s: added") if adding else _("%(language)s: changed")
    case.log(by, CaseLogEntry.Action.STATEMENT, detail % {"language": language_name})
    return statement


def daily_run_claim(*, job: str, day: date) -> DailyRun | None:
    """Claim a daily job for a day: the new run, or None when it has already run (or is
    running) for that day, so the caller does nothing. The row is committed at once, before the
    job's work, so that a concurrent caller sees it. A job that fails half-way stays claimed: a
    digest half-sent is not sent again to those who had it; tomorrow's run does the rest."""
    try:
        with transaction.atomic():
            return DailyRun.objects.create(job=job, day=day)
    except IntegrityError:
        return None


@transaction.atomic
def case_procedure_add(*, case: Case, procedure: Procedure, by: User) -> CaseProcedure:
    if procedure.organisation_id not in (None, case.organisation_id):
        raise ValidationError(_("Choose a procedure of the case's organisation."))
    case_procedure, created = CaseProcedure.objects.get_or_create(
        case=case, procedure=procedure, defaults={"added_by": by}
    )
    if created:
        case.log(
            by, CaseLogEntry.Action.CHECKLIST, _("%(name)s: added") % {"name": _(procedure.name)}
        )
    return case_procedure


@transaction.atomic
def case_procedure_remove(*, case_procedure: CaseProcedure, by: User) -> None:
    """The procedure leaves the case with its checklist; the documents themselves stay."""
    case = case_procedure.case
    name = _(case_procedure.procedure.name)
    case_procedure.delete()
    case.log(by, CaseLogEntry.Action.CHECKLIST, _("%(name)s: removed") % {"name": name})


@transaction.atomic
def checklist_save(
    *,
    case_procedure: CaseProcedure,
    states: dict[int, tuple[str, list[Document] | None]],
    by: User,
) -> None:
    """Write a checklist: item id → (state, the case's documents that answer it, or None to
    keep the links as they are). Documents of another case are refused."""
    case = case_procedure.case
    items = {item.pk: item for item in case_procedure.procedure.items.all()}
    entries = {entry.item_id: entry for entry in case_procedure.entries.all()}
    changed = False
    for item_id, (state, documents) in states.items():
        if item_id not in items:
            raise ValidationError(_("This item is not on the procedure's checklist."))
        if documents is not None and any(d.case_id != case.pk for d in documents):
            raise ValidationError(_("Only the case's own documents can be linked."))
        entry = entries.get(item_id)
        if entry is None:
            entry = ChecklistEntry(case_procedure=case_procedure, item=items[item_id])
        before = (entry.state, {d.pk for d in entry.documents.all()} if entry.pk else set())
        after = (state, {d.pk for d in documents} if documents is not None else before[1])
        if entry.pk and before == after:
            continue
        entry.state = state
        entry.updated_by = by
        entry.save()
        if documents is not None:
            entry.documents.set(documents)
        changed = True
    if changed:
        name = _(case_procedure.procedure.name)
        case.log(by, CaseLogEntry.Action.CHECKLIST, _("%(name)s: changed") % {"name": name})


# --- spreadsheet import -------------------------------------------------------------------------


def spreadsheet_import_upload(
    *, organisation: Organisation, data: bytes, file_format: str, row_count: int, by: User
) -> SpreadsheetImport:
    """Keep an uploaded sheet (already read and found sound) between the steps: encrypted by
    the storage like a document, under a random name."""
    sheet_import = SpreadsheetImport(
        organisation=organisation, uploaded_by=by, file_format=file_format, row_count=row_count
    )
    sheet_import.file.save("upload", ContentFile(data), save=False)
    try:
        sheet_import.save()
    except Exception:
        sheet_import.file.delete(save=False)
        raise
    return sheet_import


def spreadsheet_import_discard(*, sheet_import: SpreadsheetImport) -> None:
    """An abandoned upload: the sheet and its row are deleted."""
    if sheet_import.file:
        sheet_import.file.delete(save=False)
    sheet_import.delete()


def spreadsheet_imports_delete_stale(*, older_than: timedelta) -> int:
    """Uploads nobody imported within `older_than` are abandoned: delete them (the periodic
    cleanup). Returns how many."""
    cutoff = timezone.now() - older_than
    # A queued or running one that old was lost with its worker or broker: nothing of it was
    # saved (all or nothing), so its sheet goes too.
    stale = SpreadsheetImport.objects.filter(
        status__in=[
            SpreadsheetImport.Status.UPLOADED,
            SpreadsheetImport.Status.QUEUED,
            SpreadsheetImport.Status.RUNNING,
        ],
        created_at__lt=cutoff,
    )
    count = 0
    for sheet_import in stale:
        spreadsheet_import_discard(sheet_import=sheet_import)
        count += 1
    # An import's error report names clients too: it goes after the same time.
    for sheet_import in SpreadsheetImport.objects.filter(
        status=SpreadsheetImport.Status.IMPORTED, imported_at__lt=cutoff
    ).exclude(report=""):
        sheet_import.report.delete(save=True)
    return count


def _rows_to_import(
    plan: ImportPlan, *, skip_errors: bool, include_duplicates: bool
) -> list[RowPlan]:
    errors = plan.count("error")
    if errors and not skip_errors:
        raise ValidationError(
            _(
                "%(count)s rows have errors. Fix them in the sheet and upload it again, or "
                "choose to skip them."
            ),
            params={"count": errors},
            code="row_errors",
        )
    rows = [r for r in plan.rows if not r.errors]
    if not include_duplicates:
        rows = [r for r in rows if not r.is_duplicate]
    if not rows:
        raise ValidationError(_("No row is left to import."), code="nothing")
    return rows


def spreadsheet_import_start(
    *,
    sheet_import: SpreadsheetImport,
    plan: ImportPlan,
    skip_errors: bool,
    include_duplicates: bool,
    language: str,
    by: User,
) -> SpreadsheetImport:
    """Queue the import with the choices made on the preview: refused at once (nothing queued)
    when rows with errors would be dropped without the user's say, or no row is left. The
    worker (casework.tasks.import_spreadsheet) then runs spreadsheet_import_execute."""
    from casework.tasks import import_spreadsheet

    _rows_to_import(plan, skip_errors=skip_errors, include_duplicates=include_duplicates)
    with transaction.atomic():
        queued = SpreadsheetImport.objects.filter(
            pk=sheet_import.pk, status=SpreadsheetImport.Status.UPLOADED
        ).update(
            status=SpreadsheetImport.Status.QUEUED,
            skip_errors=skip_errors,
            include_duplicates=include_duplicates,
            started_by=by,
            language=language,
            error="",
        )
        if not queued:
            raise ValidationError(_("This sheet has already been imported."), code="imported")
        import_spreadsheet.delay_on_commit(sheet_import.pk)
    sheet_import.refresh_from_db()
    return sheet_import


def import_progress_key(import_id: int) -> str:
    return f"casework:import-progress:{import_id}"


def import_progress(import_id: int) -> dict[str, int | str] | None:
    """How far the worker is: {"phase": "checking" | "saving", "done": n, "total": m}, or None
    before it starts. Counts only, in the cache: while rows are being saved the import's own
    transaction is open, so only a cache outside the database (Redis) shows that phase
    advancing; with the database cache the page shows the rows checked, then the saving."""
    progress: dict[str, int | str] | None = cache.get(import_progress_key(import_id))
    return progress


def _report_progress(import_id: int, phase: str, done: int, total: int) -> None:
    cache.set(import_progress_key(import_id), {"phase": phase, "done": done, "total": total}, 3600)


PROGRESS_EVERY = 50


def spreadsheet_import_execute(*, import_id: int) -> SpreadsheetImport | None:
    """The worker's side of an import: claim the queued upload, read and check the sheet again
    (the organisation's clients may have changed since the preview), then import it all or
    nothing. None when it is not queued (already taken, done or cancelled). A refusal or a
    failure leaves nothing created and sends the upload back to its preview, with the reason."""
    claimed = SpreadsheetImport.objects.filter(
        pk=import_id, status=SpreadsheetImport.Status.QUEUED
    ).update(status=SpreadsheetImport.Status.RUNNING)
    if not claimed:
        return None
    sheet_import = SpreadsheetImport.objects.select_related("organisation", "started_by").get(
        pk=import_id
    )
    by = sheet_import.started_by
    try:
        if by is None:
            raise ValidationError(_("Whoever started the import no longer has an account."))
        with translation.override(sheet_import.language or None):
            sheet = read_stored_sheet(sheet_import)
            total = len(sheet.rows)

            def checked(done: int) -> None:
                if done % PROGRESS_EVERY == 0 or done == total:
                    _report_progress(import_id, "checking", done, total)

            plan = plan_import(
                sheet,
                {int(i): key for i, key in sheet_import.mapping.items()},
                organisation=sheet_import.organisation,
                user=by,
                progress=checked,
            )
            # Announced before the transaction: inside it, only a cache outside the database
            # shows the count moving.
            _report_progress(
                import_id,
                "saving",
                0,
                len(
                    _rows_to_import(
                        plan,
                        skip_errors=sheet_import.skip_errors,
                        include_duplicates=sheet_import.include_duplicates,
                    )
                ),
            )
            cases = spreadsheet_import_run(
                sheet_import=sheet_import,
                plan=plan,
                skip_errors=sheet_import.skip_errors,
                include_duplicates=sheet_import.include_duplicates,
                by=by,
                progress=lambda done, total: _report_progress(import_id, "saving", done, total),
            )
    except Exception as error:
        if isinstance(error, ValidationError):
            reason = " ".join(error.messages)
        else:
            with translation.override(sheet_import.language or None):
                reason = _("The import failed (%(error)s): nothing was imported.") % {
                    "error": type(error).__name__
                }
        SpreadsheetImport.objects.filter(pk=import_id).update(
            status=SpreadsheetImport.Status.UPLOADED, error=reason[:500]
        )
        cache.delete(import_progress_key(import_id))
        if not isinstance(error, ValidationError):
            raise
        return None
    cache.delete(import_progress_key(import_id))
    sheet_import.refresh_from_db()
    _keep_error_report(sheet_import, plan)
    # In the access log as the import of the one who started it, with every case it created.
    audit.record(None, audit.Action.CREATE, sheet_import, user=by)
    for case in cases:
        audit.record(None, audit.Action.CREATE, case, user=by)
    return sheet_import


def _keep_error_report(sheet_import: SpreadsheetImport, plan: ImportPlan) -> None:
    """The rows the import left out, as the error report, kept encrypted (like the sheet) until
    the cleanup after PRISTAN_IMPORT_KEEP_HOURS: the sheet itself is gone by now."""
    report = error_report(plan)
    if len(report) <= 1:
        return
    sheet_import.report.save("report", ContentFile(write_csv(report)), save=False)
    try:
        sheet_import.save(update_fields=["report"])
    except Exception:
        sheet_import.report.delete(save=False)
        raise


def _imported_event_title(outcome: str) -> str:
    """The imported event's title, e.g. "Refused (imported from the sheet)": the case page
    shows it after the event's kind."""
    if not outcome:
        return _("Imported from the sheet")
    return _("%(outcome)s (imported from the sheet)") % {"outcome": Event.Outcome(outcome).label}


@transaction.atomic
def spreadsheet_import_run(
    *,
    sheet_import: SpreadsheetImport,
    plan: ImportPlan,
    skip_errors: bool,
    include_duplicates: bool,
    by: User,
    progress: Callable[[int, int], None] | None = None,
) -> list[Case]:
    """Create a client and a case for each row of `plan` that is imported, all or nothing: one
    transaction, so that a failure on any row leaves no row behind. Rows with errors are only
    left out when the user chose to skip them; likely duplicates only when they did not ask
    for them too. Each row goes through `case_open`, as an intake by hand does, so that the
    names are indexed and the fields encrypted; its decision and arrival through `event_add`,
    which computes their deadlines by the rules; its procedure through `case_procedure_add`,
    which gives the case its checklist."""
    locked = SpreadsheetImport.objects.select_for_update().get(pk=sheet_import.pk)
    if locked.status not in (SpreadsheetImport.Status.UPLOADED, SpreadsheetImport.Status.RUNNING):
        raise ValidationError(_("This sheet has already been imported."), code="imported")
    rows = _rows_to_import(plan, skip_errors=skip_errors, include_duplicates=include_duplicates)
    organisation = locked.organisation
    cases = []
    deadline_count = 0
    for done, row in enumerate(rows, start=1):
        client = Client(
            pseudonym=row.client["pseudonym"] or _("Imported, row %(row)s") % {"row": row.number},
            birth_date=row.client["birth_date"],
            birth_place=row.client["birth_place"],
            gender=row.client["gender"],
            citizenships=row.client["citizenships"],
            languages=row.client["languages"],
            current_country=row.client["current_country"],
            current_city=row.client["current_city"],
        )
        case = Case(**row.case)
        if case.status == Case.Status.CLOSED:
            # As if closed today: the retention period starts now (case_change_status).
            case.closed_at = timezone.localdate()
            case.retention_until = case.closed_at + timedelta(days=settings.PRISTAN_RETENTION_DAYS)
        case = case_open(
            organisation=organisation,
            client=client,
            names=[ClientName(**name) for name in row.names],
            contacts=[ContactChannel(kind=kind, value=value) for kind, value in row.contacts],
            case=case,
            grounds=row.grounds,
            by=by,
        )
        if row.assignee is not None:
            case_assign(case=case, users=[row.assignee], by=by)
        for planned in row.events:
            event = event_add(
                case=case,
                event=Event(
                    kind=planned.kind,
                    date=planned.date,
                    outcome=planned.outcome,
                    title=_imported_event_title(planned.outcome),
                ),
                by=by,
            )
            deadline_count += event.computed.count()
        if row.procedure is not None:
            case_procedure_add(case=case, procedure=row.procedure, by=by)
        cases.append(case)
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(rows)):
            progress(done, len(rows))
    locked.status = SpreadsheetImport.Status.IMPORTED
    locked.imported_at = timezone.now()
    locked.created_count = len(cases)
    locked.skipped_count = len(plan.rows) - len(cases)
    locked.deadline_count = deadline_count
    locked.error = ""
    locked.mapping = {}
    stored = locked.file.name or ""
    locked.file = None
    locked.save()
    # The sheet itself goes once the rows are safely in; if the transaction fails, it stays
    # for another try.
    storage = sheet_import.file.storage
    if stored:
        transaction.on_commit(lambda: storage.delete(stored))
    return cases


# --- possible duplicates at intake --------------------------------------------------------------


def duplicate_alerts_raise(
    *, organisation: Organisation, clients: Iterable[Client], by: User, new_case: Case | None
) -> list[DuplicateAlert]:
    """Tell the coordinators that `by` entered someone who may be one of `clients` (whom `by`
    may not see). One open alert per user and client: raised again, it is the same alert, and
    gets the new case once there is one. New alerts are emailed after the commit."""
    from casework.tasks import send_duplicate_alert

    alerts = []
    with transaction.atomic():
        for client in clients:
            alert = DuplicateAlert.objects.filter(
                organisation=organisation,
                existing_client=client,
                raised_by=by,
                resolved_at=None,
                new_case=None,
            ).first()
            if alert is None:
                alert = DuplicateAlert.objects.create(
                    organisation=organisation, existing_client=client, raised_by=by
                )
                send_duplicate_alert.delay_on_commit(alert.pk)
            if new_case is not None and alert.new_case_id is None:
                alert.new_case = new_case
                alert.save(update_fields=["new_case"])
            alerts.append(alert)
    return alerts


def duplicate_alert_resolve(*, alert: DuplicateAlert, by: User) -> DuplicateAlert:
    if alert.resolved_at is None:
        alert.resolved_at = timezone.now()
        alert.resolved_by = by
        alert.save(update_fields=["resolved_at", "resolved_by"])
    return alert
