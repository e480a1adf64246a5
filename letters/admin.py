from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_countries import countries as django_countries

from casework.admin import AccessLoggedAdmin, SharedOrOwnAdmin
from casework.models import Authority, Case, CaseReference
from letters import services
from letters.models import (
    Batch,
    DownloadLogEntry,
    Letter,
    LetterTemplate,
    LetterTemplateVersion,
    OrganisationIdentity,
    Paragraph,
    ParagraphVersion,
    Signer,
)
from letters.sandbox import VARIABLES, TemplateError, compile_template


class LetterTemplateForm(forms.ModelForm):
    authority_kinds = forms.MultipleChoiceField(
        label=_("meant for"),
        choices=Authority.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty if the template suits any kind of addressee."),
    )
    countries = forms.MultipleChoiceField(
        label=_("countries of the addressee"),
        choices=list(django_countries),
        required=False,
        help_text=_("Leave empty if the template suits any country."),
    )
    requires = forms.MultipleChoiceField(
        label=_("references required"),
        choices=CaseReference.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A letter from this template is not issued while the case lacks them."),
    )

    class Meta:
        model = LetterTemplate
        fields = [
            "name",
            "kind",
            "language",
            "authority_kinds",
            "countries",
            "requires",
            "subject",
            "body",
            "is_active",
            "organisation",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 24, "cols": 100})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "body" not in self.fields:
            return  # shown read-only (a shared default, for an organisation's administrator)
        self.fields["body"].help_text = _(
            "Plain text; an empty line starts a new paragraph. Variables you can use: %(vars)s. "
            "Only if/for tags, loops only over case.grounds. The letterhead, addressee, date, "
            "number, signature and QR code are added by the layout."
        ) % {"vars": ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES)}

    def _check(self, field):
        source = self.cleaned_data.get(field, "")
        try:
            compile_template(source)
        except TemplateError as error:
            if error.line:
                raise forms.ValidationError(
                    _("Line %(line)s: %(message)s"),
                    params={"line": error.line, "message": error.message},
                ) from None
            raise forms.ValidationError(error.message) from None
        return source

    def clean_body(self):
        return self._check("body")

    def clean_subject(self):
        return self._check("subject")


_VERSION_FIELDS = ("number", "created_by", "created_at", "letters_count")


class VersionInline(admin.TabularInline):
    model = LetterTemplateVersion
    extra = 0
    can_delete = False
    fields = _VERSION_FIELDS
    readonly_fields = _VERSION_FIELDS

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("letters"))
    def letters_count(self, obj):
        return obj.letters.count()


@admin.register(LetterTemplate)
class LetterTemplateAdmin(SharedOrOwnAdmin):
    form = LetterTemplateForm
    actions = ["copy_to_organisation"]
    list_display = ["name", "kind", "language", "authority_kinds", "is_active", "updated_at"]
    list_filter = ["language", "kind", "is_active"]
    search_fields = ["name"]
    inlines = [VersionInline]
    readonly_fields = ["variables"]

    @admin.display(description=_("available variables"))
    def variables(self, obj):
        return format_html_join("", "<div><code>{{{{ {} }}}}</code> — {}</div>", VARIABLES.items())

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Every change of the text is a new version; issued letters keep the one they used.
        services.template_save_version(template=obj, by=request.user)

    @admin.action(description=_("Copy to my organisation, to adapt it"))
    def copy_to_organisation(self, request, queryset):
        membership = getattr(request.user, "membership", None)
        if membership is None:
            self.message_user(request, _("You belong to no organisation."), messages.ERROR)
            return
        for template in queryset:
            services.template_copy(
                template=template, organisation=membership.organisation, by=request.user
            )
        self.message_user(
            request,
            _("%(count)d template(s) copied to your organisation.") % {"count": queryset.count()},
            messages.SUCCESS,
        )


class ScopedLetterAdmin(AccessLoggedAdmin):
    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=Case.objects.visible_to(request.user))


@admin.register(Letter)
class LetterAdmin(ScopedLetterAdmin):
    list_display = [
        "number",
        "case",
        "authority",
        "language",
        "status",
        "render_status",
        "issued_at",
    ]
    list_filter = ["status", "render_status", "language", "authority"]
    search_fields = ["number", "case__reference"]
    list_select_related = ["case", "authority"]
    exclude = ["body", "pdf"]
    readonly_fields = [f.name for f in Letter._meta.fields if f.name not in ("body", "pdf", "id")]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Batch)
class BatchAdmin(AccessLoggedAdmin):
    list_display = ["pk", "kind", "template", "authority", "status", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    # Read-only: a status changed here would skip the second person's approval of a batch.
    readonly_fields = [f.name for f in Batch._meta.fields if f.name != "id"]

    def get_queryset(self, request):
        membership = getattr(request.user, "membership", None)
        qs = super().get_queryset(request)
        return qs.filter(organisation=membership.organisation) if membership else qs.none()

    def has_add_permission(self, request):
        return False


@admin.register(DownloadLogEntry)
class DownloadLogEntryAdmin(AccessLoggedAdmin):
    list_display = ["at", "letter", "user"]
    list_select_related = ["letter", "user"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(letter__case__in=Case.objects.visible_to(request.user))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OwnOrganisationAdmin(admin.ModelAdmin):
    """Rows of the administrator's own organisation only, created in it."""

    exclude = ["organisation"]

    def get_queryset(self, request):
        membership = getattr(request.user, "membership", None)
        qs = super().get_queryset(request)
        return qs.filter(organisation=membership.organisation) if membership else qs.none()

    def has_add_permission(self, request):
        return getattr(request.user, "membership", None) is not None and super().has_add_permission(
            request
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.organisation = request.user.membership.organisation
        super().save_model(request, obj, form, change)


@admin.register(OrganisationIdentity)
class OrganisationIdentityAdmin(OwnOrganisationAdmin):
    list_display = ["language", "name", "show_russian_name"]
    list_filter = ["language"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change, **kwargs)
        membership = getattr(request.user, "membership", None)

        class IdentityForm(base):
            def clean(self):
                cleaned = super().clean()
                taken = OrganisationIdentity.objects.filter(
                    organisation=membership.organisation if membership else None,
                    language=cleaned.get("language"),
                ).exclude(pk=self.instance.pk)
                if taken.exists():
                    raise forms.ValidationError(
                        _("The organisation already has an identity in this language.")
                    )
                return cleaned

        return IdentityForm


@admin.register(Signer)
class SignerAdmin(OwnOrganisationAdmin):
    list_display = ["name_latin", "name_cyrillic", "is_default", "is_active"]
    list_filter = ["is_active"]


# --- the paragraph library ------------------------------------------------------------------


class ParagraphForm(forms.ModelForm):
    class Meta:
        model = Paragraph
        fields = [
            "title",
            "language",
            "grounds",
            "origin_countries",
            "destination_countries",
            "text",
            "sources",
            "checked_on",
            "is_active",
        ]
        widgets = {
            "grounds": forms.CheckboxSelectMultiple,
            "text": forms.Textarea(attrs={"rows": 14, "cols": 100}),
            "sources": forms.Textarea(attrs={"rows": 6, "cols": 100}),
        }


class SharedParagraphForm(ParagraphForm):
    """What a superuser edits: also whether the paragraph is shared by every organisation."""

    shared = forms.BooleanField(
        label=_("shared with every organisation"),
        required=False,
        help_text=_("Otherwise it belongs to your organisation only."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shared"].initial = self.instance.organisation_id is None


_PARAGRAPH_VERSION_FIELDS = ("number", "checked_on", "created_by", "created_at")


class ParagraphVersionInline(admin.TabularInline):
    model = ParagraphVersion
    extra = 0
    can_delete = False
    fields = _PARAGRAPH_VERSION_FIELDS
    readonly_fields = _PARAGRAPH_VERSION_FIELDS
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Paragraph)
class ParagraphAdmin(admin.ModelAdmin):
    """Shared paragraphs (no organisation) are edited by superusers and read by every
    organisation's administrators; an organisation's own paragraphs by its administrators.
    Another organisation's are never shown. Saving a changed text records a new version."""

    list_display = ["title", "language", "scope", "checked", "is_active", "updated_at"]
    list_filter = ["language", "grounds", "is_active"]
    search_fields = ["title"]
    inlines = [ParagraphVersionInline]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("organisation")
        membership = getattr(request.user, "membership", None)
        shared = Q(organisation__isnull=True)
        if membership is not None:
            return qs.filter(shared | Q(organisation_id=membership.organisation_id))
        return qs.filter(shared) if request.user.is_superuser else qs.none()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SharedParagraphForm if request.user.is_superuser else ParagraphForm
        return super().get_form(request, obj, change, **kwargs)

    def _may_edit(self, request, obj) -> bool:
        if obj is None:
            return True
        if obj.organisation_id is None:
            return request.user.is_superuser
        membership = getattr(request.user, "membership", None)
        return membership is not None and membership.organisation_id == obj.organisation_id

    def has_add_permission(self, request):
        may_own = getattr(request.user, "membership", None) is not None
        return (may_own or request.user.is_superuser) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        membership = getattr(request.user, "membership", None)
        if request.user.is_superuser:
            shared = form.cleaned_data.get("shared") or membership is None
            obj.organisation = None if shared else membership.organisation
        elif not change:
            obj.organisation = membership.organisation
        super().save_model(request, obj, form, change)
        services.paragraph_save_version(paragraph=obj, by=request.user)

    @admin.display(description=_("organisation"), ordering="organisation")
    def scope(self, obj):
        return obj.organisation or _("shared")

    @admin.display(description=_("sources checked on"), ordering="checked_on")
    def checked(self, obj):
        if obj.check_is_old:
            return format_html(
                '<span style="color: var(--error-fg, #ba2121)">{} ⚠ {}</span>',
                date_format(obj.checked_on, "SHORT_DATE_FORMAT"),
                _("more than a year ago"),
            )
        return date_format(obj.checked_on, "SHORT_DATE_FORMAT")
