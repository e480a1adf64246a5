"""Importing the NGO's client sheet: upload → which column is which → preview (what each row
would create, what is wrong, likely duplicates) → import, all or nothing.

Only coordinators and administrators (Capability.IMPORT_CLIENTS), and only their own
organisation's uploads: anyone else's upload is a 404, like a case out of scope. The sheet is
stored encrypted between the steps and deleted by the import or the cancel button (or, if
abandoned, by casework.tasks.delete_stale_imports).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from casework import audit, services
from casework.access import OutOfScope, capability_required
from casework.capabilities import Capability
from casework.forms import ImportMappingForm, ImportRunForm, ImportUploadForm
from casework.importing import (
    FIELD_BY_KEY,
    error_report,
    plan_import,
    read_stored_sheet,
    recognise,
)
from casework.models import SpreadsheetImport
from core.spreadsheets import Sheet, write_csv
from core.uploads import MemoryOnlyUploadHandler

import_required = capability_required(Capability.IMPORT_CLIENTS)


def _get_import(
    request, pk: int, statuses: tuple[str, ...] = (SpreadsheetImport.Status.UPLOADED,)
) -> SpreadsheetImport:
    """The organisation's upload in one of `statuses` (by default: waiting to be imported), or
    a logged 404."""
    sheet_import = SpreadsheetImport.objects.filter(
        pk=pk,
        organisation_id=request.user.membership.organisation_id,
        status__in=statuses,
    ).first()
    if sheet_import is None:
        raise OutOfScope("spreadsheetimport")
    return sheet_import


def _read(sheet_import: SpreadsheetImport) -> Sheet:
    return read_stored_sheet(sheet_import)


def _mapping(sheet_import: SpreadsheetImport) -> dict[int, str]:
    return {int(index): key for index, key in sheet_import.mapping.items()}


@csrf_exempt
@import_required
def import_upload(request):
    # The sheet must never be written to a temporary file in clear: keep it in memory (up to
    # the limit) until the storage has encrypted it. This must happen before the body is read,
    # hence csrf_exempt here and csrf_protect on the view itself.
    request.upload_handlers = [
        MemoryOnlyUploadHandler(request, max_bytes=settings.IMPORT_MAX_BYTES)
    ]
    return _import_upload(request)


@csrf_protect
def _import_upload(request):
    content_length = int(request.META.get("CONTENT_LENGTH") or 0)
    too_large = request.method == "POST" and content_length > settings.IMPORT_MAX_BYTES + 65_536
    bound = request.method == "POST"
    form = ImportUploadForm(
        request.POST if bound else None, request.FILES if bound else None, too_large=too_large
    )
    if request.method == "POST" and form.is_valid():
        replaced = form.cleaned_data["replace"]
        old = _get_import(request, replaced) if replaced else None
        sheet = form.sheet
        sheet_import = services.spreadsheet_import_upload(
            organisation=request.user.membership.organisation,
            data=form.content,
            file_format=sheet.format,
            row_count=len(sheet.rows),
            by=request.user,
        )
        audit.record(request, audit.Action.CREATE, sheet_import)
        if old is not None:
            # A corrected sheet with the same columns keeps the columns as they were chosen.
            if old.mapping and _read(old).headers == sheet.headers:
                sheet_import.mapping = old.mapping
                sheet_import.save(update_fields=["mapping"])
            services.spreadsheet_import_discard(sheet_import=old)
        return redirect("casework:import_mapping", pk=sheet_import.pk)
    return render(request, "casework/import_upload.html", {"form": form})


@import_required
def import_mapping(request, pk):
    sheet_import = _get_import(request, pk)
    sheet = _read(sheet_import)
    mapping = _mapping(sheet_import) or recognise(sheet.headers)
    data = request.POST if request.method == "POST" else None
    form = ImportMappingForm(data, headers=sheet.headers, mapping=mapping)
    if request.method == "POST" and form.is_valid():
        sheet_import.mapping = {str(index): key for index, key in form.mapping.items()}
        sheet_import.save(update_fields=["mapping"])
        audit.record(request, audit.Action.CHANGE, sheet_import)
        return redirect("casework:import_preview", pk=sheet_import.pk)
    audit.record(request, audit.Action.VIEW, sheet_import)
    columns = [
        (
            form[f"column_{index}"],
            [cells[index] if index < len(cells) else "" for _n, cells in sheet.rows[:3]],
        )
        for index in range(len(sheet.headers))
    ]
    recognised = recognise(sheet.headers)
    return render(
        request,
        "casework/import_mapping.html",
        {
            "sheet_import": sheet_import,
            "form": form,
            "columns": columns,
            "unrecognised": [h for i, h in enumerate(sheet.headers) if i not in recognised],
            "row_count": len(sheet.rows),
        },
    )


@import_required
def import_preview(request, pk):
    sheet_import = _get_import(request, pk)
    mapping = _mapping(sheet_import)
    if not mapping:
        return redirect("casework:import_mapping", pk=sheet_import.pk)
    organisation = request.user.membership.organisation
    plan = plan_import(_read(sheet_import), mapping, organisation=organisation, user=request.user)
    form = ImportRunForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.spreadsheet_import_start(
                sheet_import=sheet_import,
                plan=plan,
                skip_errors=form.cleaned_data["skip_errors"],
                include_duplicates=form.cleaned_data["include_duplicates"],
                language=translation.get_language() or "",
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            audit.record(request, audit.Action.CHANGE, sheet_import)
            return redirect("casework:import_progress", pk=sheet_import.pk)
    audit.record(request, audit.Action.VIEW, sheet_import)
    return render(
        request,
        "casework/import_preview.html",
        {
            "sheet_import": sheet_import,
            "plan": plan,
            "form": form,
            "mapped": [(plan.headers[i], FIELD_BY_KEY[key].label) for i, key in mapping.items()],
            "counts": {s: plan.count(s) for s in ("ok", "duplicate", "error")},
            "replace_form": ImportUploadForm(initial={"replace": sheet_import.pk}),
        },
    )


@import_required
def import_progress(request, pk):
    """The import running in the worker: polled (htmx, every two seconds) until it is done or
    has failed. Any importer of the organisation may follow it, as they may its preview."""
    sheet_import = _get_import(request, pk, statuses=tuple(SpreadsheetImport.Status.values))
    context = {
        "sheet_import": sheet_import,
        "progress": services.import_progress(sheet_import.pk),
        "finished": sheet_import.status == SpreadsheetImport.Status.IMPORTED,
        "failed": sheet_import.status == SpreadsheetImport.Status.UPLOADED,
        "keep_hours": settings.PRISTAN_IMPORT_KEEP_HOURS,
    }
    if request.htmx:
        # The poll shows counts only: not logged.
        return render(request, "casework/import_progress.html#status", context)
    audit.record(request, audit.Action.VIEW, sheet_import)
    return render(request, "casework/import_progress.html", context)


@import_required
def import_errors_csv(request, pk):
    """The rows with problems, as a CSV to fix and upload again (cells that a spreadsheet would
    run as formulas are neutralised)."""
    sheet_import = _get_import(
        request, pk, statuses=(SpreadsheetImport.Status.UPLOADED, SpreadsheetImport.Status.IMPORTED)
    )
    if sheet_import.status == SpreadsheetImport.Status.IMPORTED:
        # The sheet is gone: the report the import kept, until the cleanup deletes it.
        if not sheet_import.report:
            raise OutOfScope("spreadsheetimport", sheet_import.pk)
        with sheet_import.report.open("rb") as stored:
            content = stored.read()
    else:
        plan = plan_import(
            _read(sheet_import),
            _mapping(sheet_import),
            organisation=request.user.membership.organisation,
            user=request.user,
        )
        content = write_csv(error_report(plan))
    audit.record(request, audit.Action.EXPORT, sheet_import)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{sheet_import.pk}-errors.csv"'
    return response


@require_POST
@import_required
def import_cancel(request, pk):
    sheet_import = _get_import(request, pk)
    audit.record(request, audit.Action.ERASE, sheet_import)
    services.spreadsheet_import_discard(sheet_import=sheet_import)
    messages.success(request, _("The upload was cancelled and the sheet deleted."))
    return redirect("casework:import_upload")
