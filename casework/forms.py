import re
from datetime import datetime, time, timedelta
from typing import cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.validators import validate_email
from django.forms import inlineformset_factory
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from casework.importing import FIELDS as IMPORT_FIELDS
from casework.importing import IGNORE, mapping_errors
from casework.models import (
    Authority,
    Case,
    CaseReference,
    CaseStatement,
    ChecklistEntry,
    Client,
    ClientName,
    ContactChannel,
    Document,
    Event,
    Ground,
    Membership,
    Note,
    Procedure,
    Relative,
)
from casework.names import normalise_reference
from casework.selectors import assignable_users, icao_name
from core.spreadsheets import Sheet, read_sheet
from core.uploads import validate_upload

User = get_user_model()
# Django 6's label for an empty choice, which its own Russian catalogue lacks: listed here so
# that makemessages puts it into ours.
BLANK_CHOICE_LABEL = gettext_noop("- Select an option -")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"


def _plausible_birth_date(value):
    if value and not (datetime(1900, 1, 1).date() <= value <= timezone.localdate()):
        raise forms.ValidationError(_("Enter a date of birth between 1900 and today."))
    return value


_TEXT_SPECIAL_FIELDS = [f for f in Client.SPECIAL_CATEGORY_FIELDS if f != "vulnerabilities"]


class ClientForm(forms.ModelForm):
    """The client's details. Without the special-category capability those fields are not in
    the form at all: they can be neither seen nor overwritten.

    The identity phrase is a secret: the form never shows it (it is revealed on the case page,
    logged); a new one replaces it, and "remove" empties it."""

    new_identity_phrase = forms.CharField(
        label=_("New identity phrase"),
        required=False,
        max_length=200,
        strip=True,
        # render_value: a form sent back with an error keeps what was just typed; the stored
        # phrase is never the field's value (it is not a model field), so it is never shown.
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "off"}),
        help_text=_(
            "Agreed with the client, to ask for when someone else answers. Empty: the "
            "current phrase stays."
        ),
    )
    remove_identity_phrase = forms.BooleanField(
        label=_("Remove the identity phrase"), required=False
    )

    class Meta:
        model = Client
        fields = [
            "pseudonym",
            "gender",
            "birth_date",
            "birth_place",
            "birth_place_latin",
            "citizenships",
            "languages",
            "interpreter_language",
            "interpreter_language_other",
            "interpreter_dialect",
            "interpreter_gender",
            "current_country",
            "current_city",
            "documents_held",
            "do_not_contact",
            "contact_note",
            *Client.SPECIAL_CATEGORY_FIELDS,
        ]
        widgets = {
            "birth_date": DateInput(),
            "contact_note": forms.Textarea(attrs={"rows": 2}),
            **{f: forms.Textarea(attrs={"rows": 2}) for f in _TEXT_SPECIAL_FIELDS},
        }

    def __init__(self, *args, can_see_special: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_see_special:
            for name in Client.SPECIAL_CATEGORY_FIELDS:
                del self.fields[name]
        self.fields["citizenships"].widget.attrs["size"] = 4
        if self.instance.pk and self.instance.identity_phrase:
            self.fields["new_identity_phrase"].help_text = _(
                "A phrase is recorded (reveal it on the case page). Type a new one to replace "
                "it; empty: it stays."
            )
        else:
            del self.fields["remove_identity_phrase"]

    def clean_birth_date(self):
        return _plausible_birth_date(self.cleaned_data["birth_date"])

    def clean(self):
        cleaned = super().clean()
        language = cleaned.get("interpreter_language")
        other = cleaned.get("interpreter_language_other", "")
        if language == Client.InterpreterLanguage.OTHER and not other:
            self.add_error(
                "interpreter_language_other",
                _("Write which language the interpreter must speak."),
            )
        elif other and language != Client.InterpreterLanguage.OTHER:
            self.add_error(
                "interpreter_language_other",
                _("Choose “Other (write it in)” as the language, or leave this empty."),
            )
        if (cleaned.get("interpreter_dialect") or cleaned.get("interpreter_gender")) and (
            not language or language == Client.InterpreterLanguage.NONE
        ):
            self.add_error("interpreter_language", _("Choose the interpreter's language first."))
        if cleaned.get("new_identity_phrase") and cleaned.get("remove_identity_phrase"):
            self.add_error(
                "remove_identity_phrase",
                _("Either type a new identity phrase or remove it, not both."),
            )
        if cleaned.get("do_not_contact") and not cleaned.get("contact_note"):
            self.add_error(
                "contact_note",
                _("Say how the client can be reached instead (or that they cannot be)."),
            )
        return cleaned

    def save(self, commit=True):
        client = super().save(commit=False)
        if self.cleaned_data.get("new_identity_phrase"):
            client.identity_phrase = self.cleaned_data["new_identity_phrase"]
        elif self.cleaned_data.get("remove_identity_phrase"):
            client.identity_phrase = ""
        if commit:
            client.save()
            self.save_m2m()
        return client


class ClientNameForm(forms.ModelForm):
    class Meta:
        model = ClientName
        fields = ["kind", "script", "family_name", "given_names", "patronymic"]


ClientNameFormSet = inlineformset_factory(
    Client,
    ClientName,
    form=ClientNameForm,
    extra=2,
    max_num=8,
    validate_max=True,
    min_num=1,
    validate_min=True,
    can_delete=True,
)


class ContactForm(forms.ModelForm):
    """A contact channel and what is safe on it. A use that this kind of channel does not have
    is refused, and a channel marked safe for calls or e-mail must hold a number or address
    that a link can be made of."""

    class Meta:
        model = ContactChannel
        fields = ["kind", "value", "safety_note", *ContactChannel.USE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not kind:
            return cleaned
        allowed = ContactChannel.USES_BY_KIND.get(kind, ContactChannel.USE_FIELDS)
        kind_label = ContactChannel.Kind(kind).label
        for name in ContactChannel.USE_FIELDS:
            if cleaned.get(name) and name not in allowed:
                self.add_error(
                    name,
                    _("“%(use)s” does not fit a channel of the kind “%(kind)s”: untick it.")
                    % {
                        "use": ContactChannel._meta.get_field(name).verbose_name,
                        "kind": kind_label,
                    },
                )
        value = cleaned.get("value") or ""
        if kind == ContactChannel.Kind.PHONE and cleaned.get("may_call"):
            digits = [c for c in value if c.isdigit()]
            if len(digits) < 5 or not _PHONE.fullmatch(value.strip()):
                self.add_error(
                    "value",
                    _(
                        "Enter a phone number (digits, spaces, +, - and brackets) to mark "
                        "calls safe."
                    ),
                )
        if kind == ContactChannel.Kind.EMAIL and cleaned.get("may_email"):
            try:
                validate_email(value.strip())
            except forms.ValidationError:
                self.add_error("value", _("Enter an e-mail address to mark e-mail safe."))
        return cleaned


_PHONE = re.compile(r"\+?[\d\s().\-]+")

ContactFormSet = inlineformset_factory(
    Client,
    ContactChannel,
    form=ContactForm,
    extra=1,
    max_num=10,
    validate_max=True,
    can_delete=True,
)


class SpellingChoiceField(forms.ModelChoiceField):
    """One of a client's names, shown as spelled (str() of a name is only its id)."""

    def label_from_instance(self, obj: ClientName) -> str:
        return obj.full_name


class PseudonymChoiceField(forms.ModelChoiceField):
    """A client, shown by pseudonym (str() of a client is only its id)."""

    def label_from_instance(self, obj: Client) -> str:
        return obj.pseudonym


class CaseForm(forms.ModelForm):
    """The case's details. `client` (when the case exists) gives the choices of the Latin
    spelling for letters: the client's Latin-script names, or empty for the ICAO
    transliteration of the legal name, which the help text shows."""

    grounds = forms.ModelMultipleChoiceField(
        label=_("Grounds"),
        queryset=Ground.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(
        self, *args, client: Client | None = None, organisation_id: int | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        if organisation_id is not None:
            authority = cast(forms.ModelChoiceField, self.fields["authority"])
            authority.queryset = Authority.objects.for_organisation(organisation_id)
        field = cast(forms.ModelChoiceField, self.fields["letter_name"])
        if client is None:
            del self.fields["letter_name"]  # a new client's names are not saved yet
            return
        field.queryset = client.names.filter(script="latn")
        field.empty_label = _("ICAO transliteration")
        transliteration = icao_name(client)
        parts: list[str | Promise] = []
        if transliteration:
            parts.append(
                _("Empty: the ICAO transliteration of the legal name, “%(name)s”.")
                % {"name": transliteration}
            )
        if not field.queryset.exists():
            parts.append(_("Add the passport's spelling under Names to choose it."))
        field.help_text = " ".join(str(p) for p in parts) if parts else ""

    class Meta:
        model = Case
        fields = [
            "kind",
            "destination_country",
            "authority",
            "grounds",
            "risk",
            "opened_at",
            "summary",
            "letter_name",
        ]
        widgets = {"opened_at": DateInput(), "summary": forms.Textarea(attrs={"rows": 4})}
        field_classes = {"letter_name": SpellingChoiceField}

    def clean_opened_at(self):
        value = self.cleaned_data["opened_at"]
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("A case cannot be opened in the future."))
        return value


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        status = cast(forms.ChoiceField, self.fields["status"])
        status.choices = case.allowed_transitions()


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Rejects ids that are not database integers before they reach the database (SQLite
    raises OverflowError on huge numbers instead of finding nothing, and Python refuses to
    convert more than 4,300 digits)."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            # The length first: int() refuses strings of more than 4,300 digits (ValueError).
            if not text.isdigit() or len(text) > 19 or int(text) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class StaffChoiceField(forms.ModelChoiceField):
    """A member of staff, by full name (the user name if there is none)."""

    def label_from_instance(self, obj: AbstractUser) -> str:
        return obj.get_full_name() or obj.username


class StaffMultipleChoiceField(IdsChoiceField):
    """Members of staff, by full name (the user name if there is none)."""

    def label_from_instance(self, obj: AbstractUser) -> str:
        return obj.get_full_name() or obj.username


class AssignForm(forms.Form):
    users = StaffMultipleChoiceField(
        label=_("Assigned staff"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        users = cast(StaffMultipleChoiceField, self.fields["users"])
        users.queryset = assignable_users(case.organisation)
        if not self.is_bound:
            self.initial["users"] = list(case.assignees.all())


class ReferralForm(forms.Form):
    """Refer a case to a partner lawyer: who, a message, and the last day of their access."""

    lawyer = StaffChoiceField(label=_("Partner lawyer"), queryset=User.objects.none())
    message = forms.CharField(
        label=_("Message to the lawyer"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "The lawyer reads it before accepting, without the client's name: say what the "
            "case needs, not who the client is."
        ),
    )
    expires_on = forms.DateField(
        label=_("Referral ends on"),
        widget=DateInput(),
        help_text=_("The lawyer can no longer open the case after this day."),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        lawyer = cast(StaffChoiceField, self.fields["lawyer"])
        lawyer.queryset = User.objects.filter(
            is_active=True,
            membership__organisation=case.organisation,
            membership__role=Membership.Role.LAWYER,
        ).order_by("username")
        if not self.is_bound:
            self.initial["expires_on"] = timezone.localdate() + timedelta(days=90)

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        if value > timezone.localdate() + timedelta(days=366):
            raise forms.ValidationError(_("A referral can last at most one year."))
        return value

    @property
    def expires_at(self):
        return timezone.make_aware(datetime.combine(self.cleaned_data["expires_on"], time.max))


class ReferralReasonForm(forms.Form):
    """Why a referral is declined (optional) or ended (required)."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The other side reads it. Do not write the client's name."),
    )

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required


class RelativeForm(forms.ModelForm):
    class Meta:
        model = Relative
        fields = ["relation", "full_name", "birth_date", "location", "in_household", "notes"]
        widgets = {"birth_date": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def clean_birth_date(self):
        return _plausible_birth_date(self.cleaned_data["birth_date"])


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = [
            "kind",
            "title",
            "date",
            "time",
            "location",
            "authority",
            "outcome",
            "is_deadline",
        ]
        widgets = {"date": DateInput(), "time": TimeInput()}
        help_texts = {
            "date": _(
                "For a decision: the day it was notified or served, from which time limits "
                "run. For an arrival: the day of arrival."
            ),
            "outcome": _("For a decision: deadlines to appeal depend on it."),
            "is_deadline": _(
                "Appeal deadlines, submissions and expiry of stay are always deadlines, "
                "ticked or not."
            ),
        }

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        authority = cast(forms.ModelChoiceField, self.fields["authority"])
        authority.queryset = Authority.objects.for_organisation(case.organisation_id)
        authority.empty_label = _("The case's authority")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Event.Kind.DECISION and not cleaned.get("outcome"):
            self.add_error(
                "outcome", _("Say what the decision was: appeal deadlines depend on it.")
            )
        elif cleaned.get("kind") != Event.Kind.DECISION:
            cleaned["outcome"] = ""
        return cleaned

    def clean_date(self):
        value = self.cleaned_data["date"]
        today = timezone.localdate()
        if not (today - timedelta(days=5 * 366) <= value <= today + timedelta(days=5 * 366)):
            raise forms.ValidationError(_("Enter a date within five years of today."))
        return value


class ProcedureAddForm(forms.Form):
    procedure = forms.ModelChoiceField(label=_("Procedure"), queryset=Procedure.objects.none())

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        taken = case.procedures.values("procedure_id")
        procedure = cast(forms.ModelChoiceField, self.fields["procedure"])
        procedure.queryset = (
            Procedure.objects.for_organisation(case.organisation_id)
            .filter(active=True)
            .exclude(pk__in=taken)
        )


class DocumentChoiceField(forms.ModelMultipleChoiceField):
    """The case's documents by title: their `str()` names no content (Django admin's history
    keeps it), but the person ticking them needs to know which is which."""

    def label_from_instance(self, obj: Document) -> str:
        return obj.title


class ChecklistForm(forms.Form):
    """One case procedure's checklist: per item its state and the case's documents that
    answer it. Without the documents capability (volunteers) the documents are not in the form
    at all, and the links already made are kept."""

    def __init__(self, *args, entries, items, documents, with_documents: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        self.with_documents = with_documents
        by_item = {entry.item_id: entry for entry in entries}
        for item in self.items:
            entry = by_item.get(item.pk)
            self.fields[f"state_{item.pk}"] = forms.ChoiceField(
                label=item.name,
                choices=ChecklistEntry.State.choices,
                initial=entry.state if entry else ChecklistEntry.State.MISSING,
                widget=forms.RadioSelect,
            )
            if with_documents:
                self.fields[f"documents_{item.pk}"] = DocumentChoiceField(
                    label=_("Documents"),
                    queryset=documents,
                    required=False,
                    initial=[d.pk for d in entry.documents.all()] if entry else [],
                    widget=forms.CheckboxSelectMultiple,
                )

    def rows(self):
        """(item, state field, documents field or None) for the template."""
        return [
            (
                item,
                self[f"state_{item.pk}"],
                self[f"documents_{item.pk}"] if self.with_documents else None,
            )
            for item in self.items
        ]

    def states(self) -> dict[int, tuple[str, list | None]]:
        """item id → (state, documents or None when the form has none)."""
        return {
            item.pk: (
                self.cleaned_data[f"state_{item.pk}"],
                list(self.cleaned_data[f"documents_{item.pk}"]) if self.with_documents else None,
            )
            for item in self.items
        }


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}
        labels = {"body": _("New note")}


class DocumentForm(forms.ModelForm):
    upload = forms.FileField(label=_("File"))

    class Meta:
        model = Document
        fields = ["kind", "title"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        self.content_type = validate_upload(upload, max_bytes=settings.DOCUMENT_MAX_BYTES)
        return upload


class CaseReferenceForm(forms.ModelForm):
    """One procedure reference of a case; one per kind (the case is given, for that check)."""

    class Meta:
        model = CaseReference
        fields = ["kind", "value", "date", "court", "judge"]
        widgets = {"date": DateInput()}

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        others = self.case.references.filter(kind=kind).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(
                _("This case already has a reference of this kind: change that one instead."),
                code="duplicate",
            )
        return kind

    def clean_value(self):
        value = self.cleaned_data["value"].strip()
        if not normalise_reference(value):
            raise forms.ValidationError(
                _("Enter the number as the authority writes it."), code="empty"
            )
        return value


class CaseStatementForm(forms.ModelForm):
    class Meta:
        model = CaseStatement
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 14})}
        help_texts = {
            "text": _(
                "The facts of the case as the organisation puts them to an authority, in this "
                "language. Letters in this language start from it; the internal summary never "
                "goes into a letter."
            )
        }


class ImportUploadForm(forms.Form):
    """The client sheet to import. Reading it is the check: a sheet that cannot be read safely
    (casework.importing via core.spreadsheets) is refused here, with the reason."""

    upload = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_(
            "XLSX, ODS or CSV (UTF-8 or Windows-1251, cells separated by ; or ,). One client "
            "per row, the first row naming the columns; only the first sheet is read."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,.ods,.csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet,application/vnd.oasis.opendocument.spreadsheet,text/csv"
            }
        ),
    )
    replace = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, too_large: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        self.sheet: Sheet | None = None
        self.content = b""

    def _too_large_error(self) -> forms.ValidationError:
        return forms.ValidationError(
            _("The file is too large; the limit is %(limit)s."),
            params={"limit": filesizeformat(settings.IMPORT_MAX_BYTES)},
            code="too_large",
        )

    def clean(self):
        if self.too_large:
            # The file itself was never read (core.uploads.MemoryOnlyUploadHandler).
            self.errors.pop("upload", None)
            raise self._too_large_error()
        return super().clean()

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise self._too_large_error()
        self.content = upload.read()
        self.sheet = read_sheet(
            self.content,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_unzipped_bytes=settings.IMPORT_MAX_UNZIPPED_BYTES,
        )
        return upload


class ImportMappingForm(forms.Form):
    """One choice per column of the sheet: which field it feeds, or none."""

    def __init__(self, *args, headers: list[str], mapping: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(IGNORE, _("— ignore this column —"))] + [
            (f.key, f.label) for f in IMPORT_FIELDS
        ]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=mapping.get(index, IGNORE)
            )

    def clean(self):
        cleaned = super().clean()
        for message in mapping_errors(self.mapping):
            self.add_error(None, message)
        return cleaned

    @property
    def mapping(self) -> dict[int, str]:
        return {
            int(name.removeprefix("column_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("column_") and value
        }


class ImportRunForm(forms.Form):
    skip_errors = forms.BooleanField(
        label=_("Skip the rows with errors (they are listed in the error report)"),
        required=False,
    )
    include_duplicates = forms.BooleanField(
        label=_("Import the possible duplicates too"),
        required=False,
        help_text=_("Unticked, the rows marked as possible duplicates are left out."),
    )
