"""The rights of the person in Django admin: erasure (GDPR Art. 17) and export (Art. 15) of a
client, for administrators with the model permission. They extend casework's ClientAdmin, so
that casework never imports privacy."""

import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import FileResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework import audit
from casework.access import user_can
from casework.admin import ClientAdmin
from casework.capabilities import Capability
from casework.models import Client
from privacy import erasure, export


class EraseForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Why"), choices=erasure.ErasureReason.choices)
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this erases the client for good"), required=True
    )


class PrivacyClientAdmin(ClientAdmin):
    # Rights of the person (GDPR Art. 15 and 17): administrators only, with the model permission.
    actions = ["erase_on_request", "export_everything"]

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm("casework.delete_client") and user_can(
            request.user, Capability.MANAGE_ORGANISATION
        )

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("casework.view_client") and user_can(
            request.user, Capability.MANAGE_ORGANISATION
        )

    @admin.action(description=gettext_lazy("Erase this client on request"), permissions=["erase"])
    def erase_on_request(self, request, queryset):
        """Asks for confirmation and a reason first (erasure cannot be undone)."""
        form = EraseForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            clients = list(queryset)
            for client in clients:
                erasure.client_erase(
                    client=client,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            self.message_user(
                request,
                _("%(count)d client(s) erased.") % {"count": len(clients)},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase these clients?"),
            "opts": self.model._meta,
            "clients": queryset.prefetch_related("cases"),
            "form": form,
            "action_name": "erase_on_request",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/casework/client/erase_confirmation.html", context)

    @admin.action(
        description=gettext_lazy("Export everything about this client (GDPR Art. 15)"),
        permissions=["export"],
    )
    def export_everything(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one client to export."), messages.ERROR)
            return None
        client = queryset.get()
        data = export.client_export(client=client)
        audit.record(request, audit.Action.EXPORT, client)
        return FileResponse(
            io.BytesIO(data),
            as_attachment=True,
            filename=f"client-{client.pk}-export.zip",
            content_type="application/zip",
        )


admin.site.unregister(Client)
admin.site.register(Client, PrivacyClientAdmin)
