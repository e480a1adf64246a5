from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.models import Authority
from letters.models import Letter, LetterTemplate


class TemplateChoiceField(forms.ModelChoiceField):
    """A letter template, by name and language."""

    def label_from_instance(self, obj: LetterTemplate) -> str:
        return f"{obj.name} · {obj.get_language_display()}"


class AuthorityChoiceField(forms.ModelChoiceField):
    """An addressee, by short and full name."""

    def label_from_instance(self, obj: Authority) -> str:
        return f"{obj.short_name} — {obj.name}"


class LetterNewForm(forms.Form):
    template = TemplateChoiceField(
        label=_("Template"), queryset=LetterTemplate.objects.filter(is_active=True)
    )
    authority = AuthorityChoiceField(label=_("Addressee"), queryset=Authority.objects.all())
    mismatch = forms.BooleanField(
        label=_("Use this template although it is written for another kind of addressee"),
        required=False,
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        organisation_id = case.organisation_id
        self.fields["template"].queryset = LetterTemplate.objects.filter(
            is_active=True
        ).for_organisation(organisation_id)
        self.fields["authority"].queryset = Authority.objects.for_organisation(organisation_id)
        if not self.is_bound and case.authority_id:
            self.initial["authority"] = case.authority_id
            match = fitting_template(case.authority, organisation_id)
            if match:
                self.initial["template"] = match.pk

    def clean(self):
        cleaned = super().clean()
        template, authority = cleaned.get("template"), cleaned.get("authority")
        if template and authority and not template.fits(authority) and not cleaned.get("mismatch"):
            self.add_error(
                "template",
                _(
                    "“%(template)s” is not written for %(authority)s. Choose a template for this "
                    "addressee, or tick the box below to use it anyway."
                )
                % {"template": template.name, "authority": authority.short_name},
            )
        return cleaned


def fitting_template(
    authority: Authority, organisation_id: int | None = None
) -> LetterTemplate | None:
    """The support letter written for this addressee (its kind, country and language), the
    organisation's own before the shared default, else any template that fits it."""
    templates = LetterTemplate.objects.filter(is_active=True).for_organisation(organisation_id)
    fitting = [t for t in templates if t.fits(authority)]
    specific = sorted(
        fitting,
        key=lambda t: (
            t.kind != LetterTemplate.Kind.SUPPORT,
            t.organisation_id is None,
            not t.authority_kinds,
            not t.countries,
            t.name,
        ),
    )
    return specific[0] if specific else None


class LetterTextForm(forms.ModelForm):
    class Meta:
        model = Letter
        fields = ["subject", "body", "facts"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 18}),
            "facts": forms.Textarea(attrs={"rows": 12}),
        }
        help_texts = {
            "body": _(
                "Paragraphs are separated by an empty line. ⟦facts⟧ marks where the facts below "
                "are printed; ⟦signer⟧ and ⟦signer-title⟧ are filled in with the person chosen "
                "to sign when the letter is approved."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facts"].label = _("Facts, in %(language)s") % {
            "language": self.instance.language_name
        }
        self.fields["facts"].help_text = _(
            "What happened to the person, written for this letter and its addressee, in the "
            "letter's language. Started from the case's statement for letters, if there is one; "
            "never the internal summary."
        )


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
    template = TemplateChoiceField(
        label=_("Template"), queryset=LetterTemplate.objects.filter(is_active=True)
    )
    authority = AuthorityChoiceField(label=_("Addressee"), queryset=Authority.objects.all())
    mismatch = forms.BooleanField(
        label=_("Use this template although it is written for another kind of addressee"),
        required=False,
    )
    confirm = forms.BooleanField(
        label=_("I have checked the cases and approve these letters"), required=True
    )

    def __init__(self, *args, organisation_id: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        template = cast(forms.ModelChoiceField, self.fields["template"])
        authority = cast(forms.ModelChoiceField, self.fields["authority"])
        template.queryset = LetterTemplate.objects.filter(is_active=True).for_organisation(
            organisation_id
        )
        authority.queryset = Authority.objects.for_organisation(organisation_id)


class RegisterFilterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    authority = forms.ModelChoiceField(
        label=_("Addressee"),
        queryset=Authority.objects.all(),
        required=False,
        empty_label=_("All addressees"),
    )

    def __init__(self, *args, organisation_id: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        authority = cast(forms.ModelChoiceField, self.fields["authority"])
        authority.queryset = Authority.objects.for_organisation(organisation_id)
