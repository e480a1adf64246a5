"""Django admin for administrators. Every case-related page goes through the same scope as the
rest of the app, and special-category fields follow the same capability."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.db import models

from casework import audit
from casework.access import user_can
from casework.capabilities import Capability
from casework.forms import PseudonymChoiceField, SpellingChoiceField
from casework.models import (
    AccessEvent,
    Assignment,
    Authority,
    Case,
    CaseLogEntry,
    CaseReference,
    CaseStatement,
    ChecklistItem,
    Client,
    ClientName,
    Consent,
    ContactChannel,
    DeadlineRule,
    Document,
    Event,
    Ground,
    Note,
    Organisation,
    Procedure,
    Relative,
    Share,
)
from casework.names import reference_index

User = get_user_model()


class AccessLoggedAdmin(admin.ModelAdmin):
    """Admin pages that show case data write the access log as the app's pages do, ids only:
    lists and searches, the object's pages (change, history, delete confirmation),
    autocomplete, and every addition, change and deletion made here. `logged_type` names the
    object type in the log (the model's name by default)."""

    logged_type = ""

    def _record(self, request, action: str, obj=None) -> None:
        object_type = self.logged_type or self.opts.model_name or ""
        audit.record(request, action, obj, object_type=object_type)

    def read_action(self, request, obj) -> str:
        """What opening the change page of `obj` counts as (VIEW, or REVEAL of special data)."""
        return audit.Action.VIEW

    def _record_read(self, request, object_id: str, action: str | None = None) -> None:
        # Only a GET shows the stored object; a POST is logged as the change it makes.
        if request.method != "GET":
            return
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            self._record(request, action or self.read_action(request, obj), obj)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        searched = request.GET.get(SEARCH_VAR, "").strip()
        # Like the app's lists: that there was a search, never what was searched for.
        self._record(request, audit.Action.SEARCH if searched else audit.Action.LIST)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        self._record_read(request, object_id)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        self._record_read(request, object_id, audit.Action.VIEW)
        return response

    def delete_view(self, request, object_id, extra_context=None):
        response = super().delete_view(request, object_id, extra_context)
        self._record_read(request, object_id, audit.Action.VIEW)
        return response

    def get_search_results(self, request, queryset, search_term):
        # The admin's autocomplete (AdminSite.autocomplete_view) has no hook of its own: it
        # asks this model admin for its queryset and search results, once per request.
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            self._record(request, audit.Action.SEARCH if search_term else audit.Action.LIST)
        return super().get_search_results(request, queryset, search_term)

    def log_addition(self, request, obj, message):
        self._record(request, audit.Action.CREATE, obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._record(request, audit.Action.CHANGE, obj)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._record(request, audit.Action.DELETE, obj)
        return super().log_deletions(request, queryset)


def _organisation_id(request) -> int | None:
    membership = getattr(request.user, "membership", None)
    return membership.organisation_id if membership else None


class CaseScopedAdmin(AccessLoggedAdmin):
    """Rows reachable only through a case the admin user may see (`case_path` leads to it).

    Rows that carry their organisation (cases, clients) stay in the administrator's: the
    field is not in the form (a forged POST cannot move a row into another organisation) and
    is set on save. Only superusers choose it."""

    case_path = "case"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices (and raw ids) of related cases, clients and users come from the same scope.
        if db_field.related_model is Case:
            kwargs["queryset"] = Case.objects.visible_to(request.user)
        elif db_field.related_model is Client:
            kwargs["queryset"] = Client.objects.visible_to(request.user)
            kwargs["form_class"] = PseudonymChoiceField
        elif db_field.related_model is User:
            kwargs["queryset"] = _org_users(request)
        elif db_field.related_model is Authority:
            kwargs["queryset"] = Authority.objects.for_organisation(_organisation_id(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        visible = Case.objects.visible_to(request.user)
        qs = super().get_queryset(request)
        if self.case_path == "":
            return qs.filter(pk__in=visible.values("pk"))
        return qs.filter(**{f"{self.case_path}__in": visible})

    def _keeps_organisation(self, request) -> bool:
        has_field = any(f.name == "organisation" for f in self.opts.concrete_fields)
        return has_field and not request.user.is_superuser

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        return [*exclude, "organisation"] if self._keeps_organisation(request) else exclude

    def save_model(self, request, obj, form, change):
        if self._keeps_organisation(request):
            obj.organisation_id = _organisation_id(request)
        super().save_model(request, obj, form, change)


def _org_users(request):
    organisation_id = _organisation_id(request)
    if organisation_id is None:
        return User.objects.none()
    return User.objects.filter(membership__organisation=organisation_id)


class OrgUsersInlineMixin:
    """Inlines whose user choices must stay inside the admin's organisation."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is User:
            kwargs["queryset"] = _org_users(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """An organisation's administrators edit their own; only superusers see every
    organisation on the server, add one or delete one."""

    list_display = ["name", "short_name", "email"]
    search_fields = ["name"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk=_organisation_id(request))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class SharedOrOwnAdmin(admin.ModelAdmin):
    """Rows shared by every organisation (`organisation` empty: only superusers change them)
    and each organisation's own, which only its members see and its administrators change."""

    def _organisation_id(self, request):
        membership = getattr(request.user, "membership", None)
        return membership.organisation_id if membership else None

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(
            models.Q(organisation=None) | models.Q(organisation_id=self._organisation_id(request))
        )

    def has_change_permission(self, request, obj=None):
        own = obj is None or (
            obj.organisation_id is not None
            and obj.organisation_id == self._organisation_id(request)
        )
        if not (own or request.user.is_superuser):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        return exclude if request.user.is_superuser else [*exclude, "organisation"]

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            obj.organisation_id = self._organisation_id(request)
        super().save_model(request, obj, form, change)


@admin.register(Authority)
class AuthorityAdmin(SharedOrOwnAdmin):
    list_display = ["short_name", "name", "kind", "country", "language", "organisation"]
    list_filter = ["kind", "country", "language"]
    search_fields = ["short_name", "name", "code"]
    prepopulated_fields = {"code": ["short_name"]}


class OwnAuthoritiesMixin:
    """Authority choices of a shared-or-own row: the shared ones and the organisation's own."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Authority:
            membership = getattr(request.user, "membership", None)
            kwargs["queryset"] = Authority.objects.for_organisation(
                membership.organisation_id if membership else None
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(OwnAuthoritiesMixin, SharedOrOwnAdmin):
    list_display = ["name", "country", "event_kind", "authority_kind", "outcome", "period", "unit"]
    list_display += ["source", "checked_on", "active", "organisation"]
    list_filter = ["country", "event_kind", "active"]
    search_fields = ["name", "source"]


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 1


@admin.register(Procedure)
class ProcedureAdmin(SharedOrOwnAdmin):
    list_display = ["name", "country", "language", "active", "organisation"]
    list_filter = ["country", "language", "active"]
    search_fields = ["name"]
    inlines = [ChecklistItemInline]

    def get_inline_instances(self, request, obj=None):
        # A shared procedure's items are the superusers' to change, like the procedure itself.
        if obj is not None and not self.has_change_permission(request, obj):
            return []
        return super().get_inline_instances(request, obj)


@admin.register(Ground)
class GroundAdmin(admin.ModelAdmin):
    """The grounds are shared by every organisation (and coded into templates and
    statistics): only superusers change their labels; none are added or deleted."""

    list_display = ["code", "__str__"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False


class ClientNameInline(admin.TabularInline):
    model = ClientName
    extra = 0


class ContactChannelInline(admin.TabularInline):
    model = ContactChannel
    extra = 0


class RelativeInline(admin.StackedInline):
    model = Relative
    extra = 0


@admin.register(Client)
class ClientAdmin(CaseScopedAdmin):
    case_path = ""
    list_display = ["pseudonym", "current_country", "current_city", "created_at"]
    list_filter = ["current_country", "documents_held"]
    search_fields = ["pseudonym", "cases__reference"]
    inlines = [ClientNameInline, ContactChannelInline, RelativeInline]

    def get_queryset(self, request):
        return Client.objects.visible_to(request.user)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj))
        if user_can(request.user, Capability.VIEW_SPECIAL_CATEGORY):
            return exclude
        return [*exclude, *Client.SPECIAL_CATEGORY_FIELDS]

    def read_action(self, request, obj) -> str:
        special = user_can(request.user, Capability.VIEW_SPECIAL_CATEGORY)
        return audit.Action.REVEAL if special else audit.Action.VIEW

    def has_add_permission(self, request):
        return False  # clients are recorded through intake, with their first case


class AssignmentInline(OrgUsersInlineMixin, admin.TabularInline):
    model = Assignment
    fk_name = "case"
    extra = 0
    readonly_fields = ["assigned_by", "assigned_at"]


class ShareInline(OrgUsersInlineMixin, admin.TabularInline):
    """Referrals to partner lawyers. Their steps (accept, decline, end) are taken in the app,
    where each is logged and notified; here an administrator sees them, may change the end
    date, and may add one (it starts as an offer the lawyer must accept)."""

    model = Share
    extra = 0
    fields = [
        "lawyer",
        "status",
        "message",
        "expires_at",
        "created_by",
        "created_at",
        "responded_at",
        "ended_at",
        "ended_by",
        "reason",
    ]
    readonly_fields = [
        "status",
        "created_by",
        "created_at",
        "responded_at",
        "ended_at",
        "ended_by",
        "reason",
    ]


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    fields = ["kind", "title", "date", "is_deadline", "done"]


class CaseReferenceInline(admin.TabularInline):
    model = CaseReference
    extra = 0
    fields = ["kind", "value", "date", "court", "judge"]


class CaseStatementInline(admin.StackedInline):
    model = CaseStatement
    extra = 0
    fields = ["language", "text"]


@admin.register(Case)
class CaseAdmin(CaseScopedAdmin):
    case_path = ""
    list_display = [
        "reference",
        "pseudonym",
        "kind",
        "status",
        "risk",
        "destination_country",
        "opened_at",
    ]
    list_filter = ["status", "kind", "risk", "grounds", "authority", "destination_country"]
    search_fields = ["reference", "client__pseudonym"]
    readonly_fields = ["reference", "created_at", "updated_at"]
    filter_horizontal = ["grounds"]
    list_select_related = ["client"]
    inlines = [
        AssignmentInline,
        ShareInline,
        ConsentInline,
        EventInline,
        CaseReferenceInline,
        CaseStatementInline,
    ]
    date_hierarchy = "opened_at"

    def get_queryset(self, request):
        return Case.objects.visible_to(request.user).select_related("client")

    @admin.display(description=Client._meta.get_field("pseudonym").verbose_name)
    def pseudonym(self, obj):
        return obj.client.pseudonym

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "letter_name":
            # The spellings of this case's client only (the form's object is not known here:
            # the choices are narrowed in get_form).
            kwargs["queryset"] = ClientName.objects.none()
            kwargs["form_class"] = SpellingChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and "letter_name" in form.base_fields:
            field = form.base_fields["letter_name"]
            field.queryset = ClientName.objects.filter(client_id=obj.client_id, script="latn")
        return form

    def save_formset(self, request, form, formset, change):
        """References need their blind index, statements their author, new events who added
        them: what the app's services do (casework.services.reference_save, statement_save)."""
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            if isinstance(obj, CaseReference):
                obj.value_index = reference_index(obj.value)
            elif isinstance(obj, CaseStatement):
                obj.updated_by = request.user
            elif isinstance(obj, Event) and obj.pk is None:
                obj.created_by = request.user
            obj.save()
        formset.save_m2m()

    def has_add_permission(self, request):
        return False  # cases are opened through intake in the app


@admin.register(Event)
class EventAdmin(OwnAuthoritiesMixin, CaseScopedAdmin):
    list_display = ["title", "case", "kind", "date", "is_deadline", "done"]
    list_filter = ["kind", "is_deadline", "done"]
    search_fields = ["case__reference", "title"]
    date_hierarchy = "date"
    autocomplete_fields = ["case"]  # searched by reference; the search is logged
    # The event a deadline was computed from: a choice among all events would list other
    # cases' titles.
    readonly_fields = ["created_by", "source", "rule"]


@admin.register(Note)
class NoteAdmin(CaseScopedAdmin):
    list_display = ["__str__", "case", "author", "created_at"]
    search_fields = ["case__reference"]
    readonly_fields = ["case", "author", "created_at"]


@admin.register(Document)
class DocumentAdmin(CaseScopedAdmin):
    list_display = ["title", "case", "kind", "content_type", "size", "uploaded_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["case__reference", "title"]
    exclude = ["file"]
    readonly_fields = [
        "case",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    ]

    def has_add_permission(self, request):
        return False  # uploads go through the case page, where their content is checked


@admin.register(CaseLogEntry)
class CaseLogEntryAdmin(CaseScopedAdmin):
    list_display = ["at", "case", "actor", "action", "detail"]
    list_filter = ["action"]
    search_fields = ["case__reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


_ACCESS_EVENT_COLUMNS = ("at", "user", "action", "object_type", "object_id", "case_id", "ip")
_ACCESS_EVENT_FIELDS = (*_ACCESS_EVENT_COLUMNS, "organisation_id", "path_name", "prev_hash", "hash")


@admin.register(AccessEvent)
class AccessEventAdmin(AccessLoggedAdmin):
    """The access log, read-only and limited to the admin's organisation. The database refuses
    changes anyway; here nothing even offers them. The page in the app (/audit/) is the one to
    use for filtering by user or case. Reading it is logged, as reading /audit/ is."""

    logged_type = "access_log"
    list_display = _ACCESS_EVENT_COLUMNS
    list_filter = ["action"]
    list_select_related = ["user"]
    fields = _ACCESS_EVENT_FIELDS
    readonly_fields = _ACCESS_EVENT_FIELDS
    show_full_result_count = False

    def get_queryset(self, request):
        membership = getattr(request.user, "membership", None)
        qs = super().get_queryset(request)
        if membership is None or not membership.can(Capability.VIEW_ACCESS_LOG):
            return qs.none()
        return qs.filter(organisation_id=membership.organisation_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
