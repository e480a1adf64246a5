"""The access log as auditors and administrators read it: the organisation's entries, newest
first, filtered, and a CSV export (itself logged). Usernames, actions, object ids, case
references and addresses only: never a name or anything from inside a case.

Kept apart from casework/views.py, which is about cases; the log holds no case content."""

from collections.abc import Iterator
from typing import cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import audit
from casework.access import capability_required
from casework.capabilities import Capability
from casework.models import AccessEvent, Case
from core import csv_export

User = get_user_model()
PAGE_SIZE = 100
# Suggestions for the object-type filter; any other type recorded by the app can be typed in.
OBJECT_TYPES = [
    "case",
    "client",
    "identity_phrase",
    "document",
    "letter",
    "batch",
    "user",
    "access_log",
]
CSV_COLUMNS = [
    "id",
    "time",
    "user",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "case",
    "ip",
    "view",
]


class UsernameChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AbstractUser) -> str:
        return obj.username


class AccessLogFilterForm(forms.Form):
    user = UsernameChoiceField(
        label=_("User"),
        queryset=User.objects.none(),
        to_field_name="username",
        required=False,
        empty_label=_("Anyone"),
    )
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("Any")), *AccessEvent.Action.choices], required=False
    )
    object_type = forms.CharField(
        label=_("Object type"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "object-types", "autocomplete": "off"}),
    )
    case = forms.CharField(label=_("Case reference"), max_length=20, required=False)
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id
        users = cast(UsernameChoiceField, self.fields["user"])
        users.queryset = User.objects.filter(membership__organisation_id=organisation_id).order_by(
            "username"
        )

    def filter(self, events):
        """Narrow the organisation's entries; an invalid filter shows nothing rather than all."""
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        if data["user"]:
            events = events.filter(user=data["user"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["object_type"]:
            events = events.filter(object_type=data["object_type"].strip())
        if data["case"]:
            case_id = (
                Case.objects.filter(
                    organisation_id=self.organisation_id, reference=data["case"].strip()
                )
                .values_list("pk", flat=True)
                .first()
            )
            events = events.filter(case_id=case_id) if case_id else events.none()
        if data["date_from"]:
            events = events.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            events = events.filter(at__date__lte=data["date_to"])
        return events


def _filtered(request) -> tuple[AccessLogFilterForm, object]:
    organisation_id = request.user.membership.organisation_id
    form = AccessLogFilterForm(request.GET, organisation_id=organisation_id)
    events = AccessEvent.objects.filter(organisation_id=organisation_id).select_related("user")
    return form, form.filter(events.order_by("-id"))


def _references(organisation_id: int, case_ids=None) -> dict[int, str]:
    """Case id → reference, for the organisation's cases (those `case_ids` only, if given)."""
    cases = Case.objects.filter(organisation_id=organisation_id)
    if case_ids is not None:
        cases = cases.filter(pk__in={case_id for case_id in case_ids if case_id})
    return dict(cases.values_list("pk", "reference"))


@capability_required(Capability.VIEW_ACCESS_LOG)
def access_log(request):
    # Reading the log is itself logged: a filter by user or case counts as a search.
    filtered = any(value for name, value in request.GET.items() if name != "page")
    action = audit.Action.SEARCH if filtered else audit.Action.LIST
    audit.record(request, action, object_type="access_log")
    form, events = _filtered(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    references = _references(form.organisation_id, (e.case_id for e in page.object_list))
    for entry in page.object_list:
        entry.case_reference = references.get(entry.case_id, "")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "casework/audit_log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "object_types": OBJECT_TYPES,
        },
    )


class _Echo:
    def write(self, value):
        return value


@capability_required(Capability.VIEW_ACCESS_LOG)
def access_log_csv(request):
    audit.record(request, audit.Action.EXPORT, object_type="access_log")
    form, events = _filtered(request)
    response = StreamingHttpResponse(
        _csv_rows(events, form.organisation_id), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="access-log.csv"'
    return response


def _csv_rows(events, organisation_id: int) -> Iterator[str]:
    writer = csv_export.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    references = _references(organisation_id)
    for entry in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                entry.pk,
                timezone.localtime(entry.at).isoformat(),
                entry.user.username if entry.user else "",
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.case_id or "",
                references.get(entry.case_id, ""),
                entry.ip or "",
                entry.path_name,
            ]
        )
