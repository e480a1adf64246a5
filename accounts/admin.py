from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.models import User
from casework.models import Membership, Organisation

# The second-factor devices (accounts.TOTPDevice, RecoveryCodeDevice) have no admin: the user
# admin's "reset two-factor" action is all an administrator needs.


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False

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
        # An administrator manages the users of their own organisation (and new, unattached
        # accounts they are about to add), not those of other organisations on the server.
        membership = getattr(request.user, "membership", None)
        qs = super().get_queryset(request)
        if membership is None:
            return qs.none()
        return qs.filter(
            models.Q(membership__organisation=membership.organisation_id)
            | models.Q(membership__isnull=True)
        )

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
