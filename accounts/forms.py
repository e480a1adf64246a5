from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.services import normalise_code

User = get_user_model()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_(
            "The 6-digit code your authenticator app shows now, or one of your recovery codes."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("Enter a code."))
        return code


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=8,
        help_text=_("The 6 digits your authenticator app shows for Pristan."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError(_("Enter the 6 digits the app shows."))
        return code


class NewRecoveryCodesForm(EnrolForm):
    """New recovery codes replace the old ones: whoever asks proves again that they hold the
    password and the phone, so that someone at an unlocked computer cannot make codes of their
    own (accounts.views.recovery_codes_view checks both)."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["password", "code"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)


class EmergencyLockForm(forms.Form):
    username = forms.CharField(
        label=_("Your username"),
        # USERNAME_FIELD names a field of the model itself, never a reverse relation.
        max_length=cast(models.Field, User._meta.get_field(User.USERNAME_FIELD)).max_length,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand that I cannot log in again until an administrator unlocks my account."
        ),
    )
