"""The statistics page and its CSV: counts of the organisation's cases for coordinators and
administrators (casework.statistics does the counting, the suppression and the drawing).
Both are logged: the page as a listing, the CSV as an export."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from casework import audit
from casework.access import Capability
from casework.statistics import collect, csv_rows
from casework.views import capability_required


@capability_required(Capability.VIEW_STATISTICS)
def statistics(request):
    audit.record(request, audit.Action.LIST, object_type="statistics")
    return render(request, "casework/statistics.html", {"stats": collect(user=request.user)})


@capability_required(Capability.VIEW_STATISTICS)
def statistics_csv(request):
    audit.record(request, audit.Action.EXPORT, object_type="statistics")
    stats = collect(user=request.user)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"statistics-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A byte-order mark, so that spreadsheet programs read the Russian labels as UTF-8.
    response.write("\ufeff")
    csv.writer(response).writerows(csv_rows(stats))
    return response
