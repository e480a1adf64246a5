from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.models import User
from casework import audit
from casework.models import Membership, Organisation

# The second-factor devices (accounts.TOTPDevice, RecoveryCodeDevice) have no admin: the user
# admin's "reset two-factor" action is all an administrator needs.


# Changes that decide what an account may do or see: each one is a SECURITY entry in the access
# log (object type "user_<field>" or "membership_<field>", the account's id).
USER_SECURITY_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")
MEMBERSHIP_SECURITY_FIELDS = ("organisation", "role", "special_category_access")


def _record_security(request, what: str, user_id) -> None:
    audit.record(request, audit.Action.SECURITY, object_type=what, object_id=str(user_id))


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False

    def get_min_num(self, request, obj=None, **kwargs):
        # An organisation's administrator never sees accounts without a membership: one they
        # add joins their organisation in the same form.
        return 0 if request.user.is_superuser else 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            membership = getattr(request.user, "membership", None)
            kwargs["queryset"] = Organisation.objects.filter(
                pk=membership.organisation_id if membership else None
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = [
        "username", "first_name", "last_name", "role", "is_active", "locked_at", "last_login",
    ]  # fmt: skip
    list_filter = ["membership__role", "is_active", "is_staff", "locked_at"]
    actions = ["log_out_everywhere", "lock", "unlock", "reset_two_factor"]
    list_select_related = ["membership"]
    fieldsets = [
        *(BaseUserAdmin.fieldsets or ()),  # Django's UserAdmin always has them
        (_("Pristan"), {"fields": ["language", "locked_at"]}),
    ]

    def get_queryset(self, request):
        # An administrator manages the users of their own organisation, not those of other
        # organisations on the server; accounts without a membership (new, or left over) are
        # for superusers only, who attach them.
        membership = getattr(request.user, "membership", None)
        qs = super().get_queryset(request)
        own = models.Q(membership__organisation=membership.organisation_id if membership else None)
        if request.user.is_superuser:
            return qs.filter(own | models.Q(membership__isnull=True))
        return qs.filter(own) if membership else qs.none()

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else [*readonly, "is_superuser"]

    def has_change_permission(self, request, obj=None):
        # A superuser's account (password, second factor, flags) is a superuser's to change.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            _record_security(request, "user_created", obj.pk)
            return
        for name in USER_SECURITY_FIELDS:
            if name in form.changed_data:
                _record_security(request, f"user_{name}", obj.pk)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not Membership:
            return
        for membership in formset.new_objects:
            _record_security(request, "membership_created", membership.user_id)
        for membership, changed in formset.changed_objects:
            for name in MEMBERSHIP_SECURITY_FIELDS:
                if name in changed:
                    _record_security(request, f"membership_{name}", membership.user_id)

    def log_deletions(self, request, queryset):
        for user in queryset:
            _record_security(request, "user_deleted", user.pk)
        return super().log_deletions(request, queryset)

    def user_change_password(self, request, id, form_url=""):
        # Django's view saves the form and redirects; whether it did shows in the stored hash.
        user = self.get_object(request, unquote(id))
        response = super().user_change_password(request, id, form_url)
        if (
            user is not None
            and not User.objects.filter(pk=user.pk, password=user.password).exists()
        ):
            _record_security(request, "user_password", user.pk)
        return response

    @admin.display(description=_("role"), ordering="membership__role")
    def role(self, obj):
        membership = getattr(obj, "membership", None)
        return membership.get_role_display() if membership else "—"

    @admin.action(description=_("Log out everywhere"), permissions=["change"])
    def log_out_everywhere(self, request, queryset):
        users = list(queryset)
        for user in users:
            services.sessions_end_all(user=user, by=request.user, request=request)
        message = ngettext(
            "Every session of %(count)d user has ended.",
            "Every session of %(count)d users has ended.",
            len(users),
        )
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)

    @admin.action(description=_("Lock (no login until unlocked)"), permissions=["change"])
    def lock(self, request, queryset):
        users = list(queryset)
        locked = sum(services.account_lock(user=user, request=request) for user in users)
        message = ngettext("%(count)d user is locked.", "%(count)d users are locked.", locked)
        self.message_user(request, message % {"count": locked}, messages.SUCCESS)
        if locked < len(users):
            self.message_user(
                request,
                _(
                    "The last active administrator of an organisation is not locked, so that "
                    "someone can still unlock the others; their sessions have ended."
                ),
                messages.WARNING,
            )

    @admin.action(description=_("Unlock"), permissions=["change"])
    def unlock(self, request, queryset):
        users = list(queryset)
        for user in users:
            services.account_unlock(user=user, by=request.user, request=request)
        message = ngettext(
            "%(count)d user is unlocked.", "%(count)d users are unlocked.", len(users)
        )
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)

    @admin.action(
        description=_("Reset two-factor (a new authenticator app at the next login)"),
        permissions=["change"],
    )
    def reset_two_factor(self, request, queryset):
        users = list(queryset)
        for user in users:
            services.two_factor_reset(user=user, by=request.user, request=request)
        message = ngettext(
            "%(count)d user will set up an authenticator app at the next login.",
            "%(count)d users will set up an authenticator app at the next login.",
            len(users),
        )
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)


# Groups carry model permissions for every organisation on the server: superusers only.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
