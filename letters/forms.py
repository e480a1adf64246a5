from django import forms
from django.utils.translation import gettext_lazy as _

from casework.models import Authority
from letters.models import Letter, LetterTemplate


class LetterNewForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=LetterTemplate.objects.filter(is_active=True)
    )
    authority = forms.ModelChoiceField(label=_("Addressee"), queryset=Authority.objects.all())

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].label_from_instance = lambda t: (
            f"{t.name} · {t.get_language_display()}"
        )
        self.fields["authority"].label_from_instance = lambda a: f"{a.short_name} — {a.name}"
        if not self.is_bound and case.authority_id:
            self.initial["authority"] = case.authority_id
            match = LetterTemplate.objects.filter(
                is_active=True, language=case.authority.language
            ).first()
            if match:
                self.initial["template"] = match.pk


class LetterTextForm(forms.ModelForm):
    class Meta:
        model = Letter
        fields = ["subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 18})}
        help_texts = {"body": _("Paragraphs are separated by an empty line.")}


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class VerifyUploadForm(forms.Form):
    MAX_BYTES = 10 * 1024 * 1024

    pdf = forms.FileField(label=_("PDF file of the letter"))

    def clean_pdf(self):
        upload = self.cleaned_data["pdf"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("This file is larger than any letter (10 MB at most)."))
        return upload


class VerifyTokenForm(forms.Form):
    """The code printed under the QR code, typed by an officer (the view normalises it)."""

    token = forms.CharField(
        label=_("Verification code printed on the letter"),
        max_length=200,
        help_text=_("Capitals, spaces and dashes do not matter."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class VerifyBirthDateForm(forms.Form):
    birth_date = forms.DateField(
        label=_("Date of birth of the person concerned"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d"),
    )


class BatchForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=LetterTemplate.objects.filter(is_active=True)
    )
    authority = forms.ModelChoiceField(label=_("Addressee"), queryset=Authority.objects.all())
    confirm = forms.BooleanField(
        label=_("I have checked the cases and approve these letters"), required=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].label_from_instance = lambda t: (
            f"{t.name} · {t.get_language_display()}"
        )
        self.fields["authority"].label_from_instance = lambda a: f"{a.short_name} — {a.name}"


class RegisterFilterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    authority = forms.ModelChoiceField(
        label=_("Addressee"),
        queryset=Authority.objects.all(),
        required=False,
        empty_label=_("All addressees"),
    )
