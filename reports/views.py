"""The statistics page and its CSV: counts of the organisation's cases for coordinators and
administrators (reports.queries does the counting, the suppression and the drawing).
Both are logged: the page as a listing, the CSV as an export."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from casework import audit
from casework.access import capability_required
from casework.capabilities import Capability
from core import csv_export
from reports.queries import collect, csv_rows


@capability_required(Capability.VIEW_STATISTICS)
def statistics(request):
    audit.record(request, audit.Action.LIST, object_type="statistics")
    return render(request, "reports/statistics.html", {"stats": collect(user=request.user)})


@capability_required(Capability.VIEW_STATISTICS)
def statistics_csv(request):
    audit.record(request, audit.Action.EXPORT, object_type="statistics")
    stats = collect(user=request.user)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"statistics-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A byte-order mark, so that spreadsheet programs read the Russian labels as UTF-8.
    response.write("\ufeff")
    csv_export.writer(response).writerows(csv_rows(stats))
    return response
