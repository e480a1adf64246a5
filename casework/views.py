from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casework import audit, selectors, services
from casework.access import OutOfScope, capability_required, get_case_for_user, user_can
from casework.capabilities import Capability
from casework.filters import CaseFilter
from casework.forms import (
    AssignForm,
    CaseForm,
    CaseReferenceForm,
    CaseStatementForm,
    ChecklistForm,
    ClientForm,
    ClientNameFormSet,
    ContactFormSet,
    DocumentForm,
    EventForm,
    NoteForm,
    ProcedureAddForm,
    RelativeForm,
    StatusForm,
)
from casework.models import (
    AccessEvent,
    Case,
    CaseLogEntry,
    CaseReference,
    Consent,
    Document,
    DuplicateAlert,
    Share,
)
from core.pagination import CappedPaginator

PAGE_SIZE = 25


def _changed(*forms) -> list[str]:
    return [str(f.fields[name].label) for f in forms for name in f.changed_data if name in f.fields]


def dashboard(request):
    membership = getattr(request.user, "membership", None)
    if membership is None:
        audit.record(request, audit.Action.DENIED)
        return render(request, "casework/no_membership.html", status=403)
    audit.record(request, audit.Action.LIST, object_type="case")
    context = selectors.dashboard(request.user)
    context["duplicate_alerts"] = selectors.open_duplicate_alerts(request.user)
    context["referral_offers"] = selectors.referral_offers_count(request.user)
    return render(
        request,
        "casework/dashboard.html",
        context,
    )


def case_list(request):
    """The case list. Filters come as GET (links such as ?status=active) or as POST from the
    filter form: the search box may hold a client's name, which must not end up in URLs,
    browser history or server logs, so the form posts."""
    membership = getattr(request.user, "membership", None)
    users = get_user_model().objects
    cases = (
        Case.objects.visible_to(request.user)
        .select_related("client", "authority")
        .only(*_CASE_LIST_FIELDS)
        # Into lists (to_attr): a related manager made per row and relation costs more than
        # the row's other cells.
        .prefetch_related(
            Prefetch("grounds", to_attr="ground_list"),
            Prefetch(
                "assignees",
                users.only("username", "first_name", "last_name"),
                to_attr="assignee_list",
            ),
        )
    )
    data = request.POST if request.method == "POST" else request.GET
    case_filter = CaseFilter(
        data, queryset=cases, organisation=membership.organisation if membership else None
    )
    page = CappedPaginator(case_filter.qs, PAGE_SIZE).get_page(data.get("page"))
    # A search is logged as one, never with what was searched for.
    action = audit.Action.SEARCH if data.get("q", "").strip() else audit.Action.LIST
    audit.record(request, action, object_type="case")
    context = {
        "filter": case_filter,
        "page": page,
        "filtered": _has_filters(data),
        "filter_items": _filter_items(data),
    }
    template = "casework/case_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


# What a row shows: a case's client has some forty columns (most of them encrypted), and the
# list needs one of them.
_CASE_LIST_FIELDS = (
    "reference",
    "status",
    "risk",
    "kind",
    "destination_country",
    "opened_at",
    "organisation_id",
    "client__pseudonym",
    "authority__short_name",
)

_NOT_FILTERS = ("page", "csrfmiddlewaretoken")


def _has_filters(data) -> bool:
    return any(value for key, value in data.items() if key not in _NOT_FILTERS)


def _filter_items(data) -> list[tuple[str, list[str]]]:
    """The current filters, to carry them (in a POST, never a URL) to the batch page."""
    return [(key, data.getlist(key)) for key in data if key not in _NOT_FILTERS]


def _new_rows(formset) -> list:
    return [
        form.save(commit=False)
        for form in formset.forms
        if form.has_changed() and not form.cleaned_data.get("DELETE")
    ]


def _duplicate_seen_key(matches) -> str:
    """What the "open it anyway" button carries: a keyed hash of the matches the user was
    warned about, so that a different match warns again, and which reveals nothing of them."""
    ids = ",".join(str(pk) for pk in sorted(c.pk for c in matches))
    return salted_hmac("casework.duplicate-seen", ids, algorithm="sha256").hexdigest()[:32]


def _duplicate_check(request, client_form, names) -> tuple[list, selectors.DuplicateWarning]:
    matches = selectors.possible_duplicates(
        organisation_id=request.user.membership.organisation_id,
        names=[
            (form.cleaned_data["family_name"], form.cleaned_data.get("given_names", ""))
            for form in names.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE")
        ],
        birth_date=client_form.cleaned_data.get("birth_date"),
    )
    # A comparison of names against every client: logged as a search, never with the names.
    audit.record(request, audit.Action.SEARCH, object_type="client")
    return matches, selectors.duplicate_warning(request.user, matches)


@capability_required(Capability.CREATE_CASES)
def case_create(request):
    organisation = request.user.membership.organisation
    can_see_special = user_can(request.user, Capability.VIEW_SPECIAL_CATEGORY)
    client_form = ClientForm(request.POST or None, prefix="client", can_see_special=can_see_special)
    names = ClientNameFormSet(request.POST or None, prefix="names")
    contacts = ContactFormSet(request.POST or None, prefix="contacts")
    case_form = CaseForm(
        request.POST or None, prefix="case", organisation_id=request.user.membership.organisation_id
    )
    forms = [client_form, names, contacts, case_form]
    duplicate = None
    if request.method == "POST" and all([f.is_valid() for f in forms]):
        matches, duplicate = _duplicate_check(request, client_form, names)
        seen = request.POST.get("duplicate_seen") == _duplicate_seen_key(matches)
        if not duplicate or seen:
            case = services.case_open(
                organisation=organisation,
                client=client_form.save(commit=False),
                names=_new_rows(names),
                contacts=_new_rows(contacts),
                case=case_form.save(commit=False),
                grounds=case_form.cleaned_data["grounds"],
                by=request.user,
            )
            if duplicate.hidden_clients:
                services.duplicate_alerts_raise(
                    organisation=organisation,
                    clients=duplicate.hidden_clients,
                    by=request.user,
                    new_case=case,
                )
            audit.record(request, audit.Action.CREATE, case)
            messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
            return redirect("casework:case_detail", reference=case.reference)
        if duplicate.hidden_clients:
            # The coordinators are told at once, whether or not the case is then opened.
            services.duplicate_alerts_raise(
                organisation=organisation,
                clients=duplicate.hidden_clients,
                by=request.user,
                new_case=None,
            )
        duplicate_seen = _duplicate_seen_key(matches)
    else:
        duplicate_seen = ""
    return render(
        request,
        "casework/case_form.html",
        {
            "client_form": client_form,
            "names": names,
            "contacts": contacts,
            "case_form": case_form,
            "creating": True,
            "duplicate": duplicate,
            "duplicate_seen": duplicate_seen,
        },
    )


def case_detail(request, reference):
    case = get_case_for_user(request.user, reference)
    audit.record(request, audit.Action.VIEW, case)
    user = request.user
    can_see_documents = user_can(user, Capability.VIEW_DOCUMENTS)
    client = case.client  # read with the case by get_case_for_user
    prefetch_related_objects([client], "names", "contacts", "relatives")
    context = {
        "case": case,
        "client": client,
        "events": case.events.all(),
        "notes": case.notes.select_related("author__membership")[:50],
        "documents": (
            case.documents.select_related("uploaded_by__membership") if can_see_documents else []
        ),
        "history": case.log_entries.select_related("actor")[:50],
        "assignments": case.assignments.select_related("user"),
        "referrals": _open_referrals(case, user),
        "consents": case.consents.all(),
        "consent_form": ConsentForm(),
        "letters": (
            case.letters.select_related("authority").order_by("-created_at")
            if user_can(user, Capability.VIEW_LETTERS)
            else []
        ),
        "grounds": case.grounds.all(),
        "references": sorted(case.references.all(), key=_reference_order),
        **_statements(case),
        "letter_name": case.letter_name.full_name
        if case.letter_name
        else selectors.icao_name(client),
        "status_form": StatusForm(case=case),
        "note_form": NoteForm(),
        "checklists": selectors.case_checklists(case),
        "relative_form": RelativeForm(),
        "document_form": DocumentForm(),
        "today": timezone.localdate(),
        "access_log": _case_access_log(case) if user_can(user, Capability.VIEW_ALL_CASES) else None,
    }
    return render(request, "casework/case_detail.html", context)


def _open_referrals(case, user):
    """The case's open referrals for the Team panel; a partner lawyer sees only their own
    (which other lawyers the NGO consults is not theirs to know)."""
    referrals = case.shares.select_related("lawyer").filter(status__in=Share.OPEN_STATUSES)
    if user_can(user, Capability.VIEW_SHARED_CASES):  # partner lawyers only
        referrals = referrals.filter(lawyer=user)
    return referrals


def _reference_order(reference: CaseReference) -> int:
    """The order of CaseReference.Kind: the first authority's number before the appeal's."""
    return CaseReference.Kind.values.index(reference.kind)


def _statements(case) -> dict:
    """The case's statements for letters as (code, language name, statement), in the order of
    settings.LETTER_LANGUAGES, and the languages (code, name) that have none yet."""
    existing = {s.language: s for s in case.statements.select_related("updated_by")}
    languages = settings.LETTER_LANGUAGES
    return {
        "statements": [(c, name, existing[c]) for c, name in languages if c in existing],
        "statement_languages_missing": [(c, n) for c, n in languages if c not in existing],
    }


def _case_access_log(case) -> list[AccessEvent]:
    """The last 20 access-log entries of a case ("who looked at this case"), by anyone."""
    return list(AccessEvent.objects.filter(case_id=case.pk).select_related("user")[:20])


def case_edit(request, reference):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    can_see_special = user_can(request.user, Capability.VIEW_SPECIAL_CATEGORY)
    client = case.client
    client_form = ClientForm(
        request.POST or None, instance=client, prefix="client", can_see_special=can_see_special
    )
    names = ClientNameFormSet(
        request.POST or None,
        instance=client,
        prefix="names",
        queryset=client.names.all(),
    )
    contacts = ContactFormSet(request.POST or None, instance=client, prefix="contacts")
    case_form = CaseForm(
        request.POST or None,
        instance=case,
        prefix="case",
        client=client,
        organisation_id=case.organisation_id,
    )
    forms = [client_form, names, contacts, case_form]
    if request.method == "POST" and all([f.is_valid() for f in forms]):
        with transaction.atomic():
            client_form.save(commit=False)
            names.save()
            contacts.save()
            client_changes = _changed(client_form)
            if names.has_changed():
                client_changes.append(_("names"))
            if contacts.has_changed():
                client_changes.append(_("contact channels"))
            services.client_update(
                case=case, client=client, changed_fields=client_changes, by=request.user
            )
            case_form.save(commit=False)
            services.case_update(
                case=case,
                changed_fields=_changed(case_form),
                grounds=case_form.cleaned_data["grounds"],
                by=request.user,
            )
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, _("Case %(ref)s saved.") % {"ref": case.reference})
        return redirect("casework:case_detail", reference=case.reference)
    # The form shows the special-category fields to those allowed to edit them: a reveal.
    audit.record(request, audit.Action.REVEAL if can_see_special else audit.Action.VIEW, case)
    return render(
        request,
        "casework/case_form.html",
        {
            "case": case,
            "client_form": client_form,
            "names": names,
            "contacts": contacts,
            "case_form": case_form,
            "creating": False,
        },
    )


@require_POST
def case_status(request, reference):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    form = StatusForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_change_status(
                case=case, status=form.cleaned_data["status"], by=request.user
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            audit.record(request, audit.Action.CHANGE, case)
            messages.success(
                request,
                _("Status changed to “%(status)s”.") % {"status": case.get_status_display()},
            )
    else:
        messages.error(request, _("This status change is not allowed from the current status."))
    return redirect("casework:case_detail", reference=case.reference)


def case_assign(request, reference):
    case = get_case_for_user(request.user, reference, capability=Capability.ASSIGN_CASES)
    form = AssignForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        services.case_assign(case=case, users=list(form.cleaned_data["users"]), by=request.user)
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, _("Assignment saved."))
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    return render(
        request,
        "casework/case_subform.html",
        {"case": case, "form": form, "title": _("Assign staff")},
    )


def _case_subform(request, reference, form_class, title, save, capability=Capability.EDIT_CASES):
    """Shared shape of the small "add X to this case" forms: errors re-render the form, success
    goes back to the case page."""
    case = get_case_for_user(request.user, reference, capability=capability)
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        message = save(case, form)
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, message)
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    return render(
        request, "casework/case_subform.html", {"case": case, "form": form, "title": title}
    )


def relative_add(request, reference):
    def save(case, form):
        services.relative_add(case=case, relative=form.save(commit=False), by=request.user)
        return _("Relative added.")

    return _case_subform(request, reference, RelativeForm, _("Add a relative"), save)


def event_add(request, reference):
    return _event_form(request, reference, None)


def event_edit(request, reference, event_id):
    return _event_form(request, reference, event_id)


def _event_form(request, reference, event_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    event = get_object_or_404(case.events, pk=event_id) if event_id else None
    form = EventForm(request.POST or None, instance=event, case=case)
    if request.method == "POST" and form.is_valid():
        if event is None:
            event = services.event_add(case=case, event=form.save(commit=False), by=request.user)
            messages.success(request, _("Event added."))
        else:
            services.event_update(
                event=form.save(commit=False), changed_fields=_changed(form), by=request.user
            )
            messages.success(request, _("Event saved."))
        computed = event.computed.filter(changed_by_hand=False).first()
        if computed is not None:
            messages.info(request, _("Deadline computed: %(title)s") % {"title": computed.title})
        audit.record(request, audit.Action.CHANGE, case)
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    title = _("Change an event") if event else _("Add an event or deadline")
    return render(
        request, "casework/case_subform.html", {"case": case, "form": form, "title": title}
    )


@require_POST
def event_delete(request, reference, event_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    event = get_object_or_404(case.events, pk=event_id)
    services.event_delete(event=event, by=request.user)
    audit.record(request, audit.Action.CHANGE, case)
    messages.success(request, _("Event deleted."))
    return redirect("casework:case_detail", reference=case.reference)


def procedure_add(request, reference):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    form = ProcedureAddForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        services.case_procedure_add(
            case=case, procedure=form.cleaned_data["procedure"], by=request.user
        )
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, _("Procedure added: its checklist is on the case page."))
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    return render(
        request,
        "casework/case_subform.html",
        {"case": case, "form": form, "title": _("Add a procedure")},
    )


@require_POST
def procedure_remove(request, reference, case_procedure_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    case_procedure = get_object_or_404(case.procedures, pk=case_procedure_id)
    services.case_procedure_remove(case_procedure=case_procedure, by=request.user)
    audit.record(request, audit.Action.CHANGE, case)
    messages.success(request, _("Procedure removed."))
    return redirect("casework:case_detail", reference=case.reference)


def checklist_edit(request, reference, case_procedure_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    case_procedure = get_object_or_404(
        case.procedures.select_related("procedure"), pk=case_procedure_id
    )
    with_documents = user_can(request.user, Capability.VIEW_DOCUMENTS)
    form = ChecklistForm(
        request.POST or None,
        entries=case_procedure.entries.prefetch_related("documents"),
        items=case_procedure.procedure.items.all(),
        documents=case.documents.all(),
        with_documents=with_documents,
    )
    if request.method == "POST" and form.is_valid():
        services.checklist_save(
            case_procedure=case_procedure, states=form.states(), by=request.user
        )
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, _("Checklist saved."))
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    return render(
        request,
        "casework/checklist_form.html",
        {"case": case, "case_procedure": case_procedure, "form": form},
    )


@require_POST
def event_done(request, reference, event_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    event = get_object_or_404(case.events, pk=event_id)
    services.event_mark_done(event=event, by=request.user)
    audit.record(request, audit.Action.CHANGE, case)
    messages.success(request, _("Marked as done."))
    return redirect("casework:case_detail", reference=case.reference)


def note_add(request, reference):
    def save(case, form):
        services.note_add(case=case, body=form.cleaned_data["body"], by=request.user)
        return _("Note added.")

    # Partner lawyers add notes to the cases referred to them (ADD_NOTES), editing nothing.
    return _case_subform(
        request, reference, NoteForm, _("Add a note"), save, capability=Capability.ADD_NOTES
    )


def document_upload(request, reference):
    if not user_can(request.user, Capability.UPLOAD_DOCUMENTS):
        get_case_for_user(request.user, reference)  # 404 first if the case is not theirs
        raise PermissionDenied

    def save(case, form):
        services.document_upload(
            case=case,
            upload=form.cleaned_data["upload"],
            kind=form.cleaned_data["kind"],
            title=form.cleaned_data["title"],
            content_type=form.content_type,
            by=request.user,
        )
        return _("Document uploaded.")

    return _case_subform(
        request,
        reference,
        DocumentForm,
        _("Upload a document"),
        save,
        capability=Capability.UPLOAD_DOCUMENTS,
    )


def document_download(request, reference, document_id):
    case = get_case_for_user(request.user, reference)
    if not user_can(request.user, Capability.VIEW_DOCUMENTS):
        raise OutOfScope("document", case_id=case.pk)
    document = get_object_or_404(Document, case=case, pk=document_id)
    audit.record(request, audit.Action.DOWNLOAD, document)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.download_name,
        content_type=document.content_type,
    )
    case.log(request.user, CaseLogEntry.Action.DOWNLOADED, document.get_kind_display())
    return response


@require_POST
def case_reveal(request, reference):
    """Show the special-category fields of a case's client: an explicit, logged action even
    for users allowed to see them."""
    case = get_case_for_user(request.user, reference, capability=Capability.VIEW_SPECIAL_CATEGORY)
    audit.record(request, audit.Action.REVEAL, case.client, case_id=case.pk)
    return render(
        request,
        "casework/_special_category.html",
        {"client": case.client, "case": case, "revealed": True},
    )


@require_POST
def identity_phrase_reveal(request, reference):
    """The client's identity phrase, for the staff who contact them (not partner lawyers, who
    only read): a secret, shown on request and logged like a reveal of special data."""
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    audit.record(
        request, audit.Action.REVEAL, case.client, case_id=case.pk, object_type="identity_phrase"
    )
    return render(
        request,
        "casework/_identity_phrase.html",
        {"client": case.client, "case": case, "revealed": True},
    )


class ConsentForm(forms.Form):
    """The case page's consent box: one purpose, given or withdrawn."""

    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=Consent.Purpose.choices)
    action = forms.ChoiceField(choices=[("record", "record"), ("withdraw", "withdraw")])


@require_POST
def case_consent(request, reference):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a purpose of consent from the list."))
        return redirect("casework:case_detail", reference=case.reference)
    purpose = form.cleaned_data["purpose"]
    label = Consent.Purpose(purpose).label
    if form.cleaned_data["action"] == "record":
        services.consent_record(case=case, purpose=purpose, by=request.user)
        messages.success(request, _("Consent recorded: %(purpose)s.") % {"purpose": label})
    else:
        consent = case.consents.filter(purpose=purpose, withdrawn_on=None).first()
        if consent is None:
            messages.error(request, _("There is no consent to withdraw for this purpose."))
            return redirect("casework:case_detail", reference=case.reference)
        services.consent_withdraw(consent=consent, by=request.user)
        messages.success(request, _("Consent withdrawn: %(purpose)s.") % {"purpose": label})
    audit.record(request, audit.Action.CHANGE, case)
    return redirect("casework:case_detail", reference=case.reference)


def reference_add(request, reference):
    return _reference_form(request, reference, None)


def reference_edit(request, reference, reference_id):
    return _reference_form(request, reference, reference_id)


def _reference_form(request, reference, reference_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    instance = get_object_or_404(case.references, pk=reference_id) if reference_id else None
    form = CaseReferenceForm(request.POST or None, instance=instance, case=case)
    if request.method == "POST" and form.is_valid():
        services.reference_save(case=case, reference=form.save(commit=False), by=request.user)
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, _("Reference saved."))
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    title = _("Change a reference") if instance else _("Add a reference of the authority")
    return render(
        request, "casework/case_subform.html", {"case": case, "form": form, "title": title}
    )


@require_POST
def reference_delete(request, reference, reference_id):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    case_reference = get_object_or_404(case.references, pk=reference_id)
    services.reference_delete(reference=case_reference, by=request.user)
    audit.record(request, audit.Action.CHANGE, case)
    messages.success(request, _("Reference deleted."))
    return redirect("casework:case_detail", reference=case.reference)


def statement_edit(request, reference, language):
    case = get_case_for_user(request.user, reference, capability=Capability.EDIT_CASES)
    languages = dict(settings.LETTER_LANGUAGES)
    if language not in languages:
        raise Http404
    instance = case.statements.filter(language=language).first()
    form = CaseStatementForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.statement_save(
            case=case, language=language, text=form.cleaned_data["text"], by=request.user
        )
        audit.record(request, audit.Action.CHANGE, case)
        messages.success(request, _("Statement for letters saved."))
        return redirect("casework:case_detail", reference=case.reference)
    audit.record(request, audit.Action.VIEW, case)
    title = _("Statement for letters in %(language)s") % {"language": languages[language]}
    return render(
        request, "casework/case_subform.html", {"case": case, "form": form, "title": title}
    )


@require_POST
@capability_required(Capability.VIEW_ALL_CASES)
def duplicate_alert_resolve(request, pk):
    """A coordinator has checked a possible duplicate: it leaves the dashboard."""
    alert = DuplicateAlert.objects.filter(
        pk=pk, organisation_id=request.user.membership.organisation_id
    ).first()
    if alert is None:
        raise OutOfScope("duplicatealert")
    services.duplicate_alert_resolve(alert=alert, by=request.user)
    audit.record(request, audit.Action.CHANGE, alert)
    messages.success(request, _("Marked as checked."))
    return redirect("casework:dashboard")
