from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from casework.models import Membership, Organisation


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
    list_display = ["username", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["membership__role", "is_active", "is_staff"]
    list_select_related = ["membership"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
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
