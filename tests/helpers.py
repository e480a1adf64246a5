"""Constants and plain helper functions shared by test modules; fixtures are in the conftest.py
files, factories in tests/factories.py. Test modules import from here, never from each other."""

import hashlib
from io import StringIO
from typing import Any

from django.core.files.base import ContentFile
from django.core.management import call_command
from django.forms import MultiWidget
from django.test import Client as TestClient
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from casework.forms import CaseForm, ClientForm, ClientNameFormSet, ContactFormSet
from casework.models import Authority, Case, Client, Consent
from letters import services as letter_services
from letters.models import Letter
from tests.factories import make_totp_device

# A minimal PDF that the upload checks accept: an upload, or a letter's PDF stored without
# rendering. Modules that look for a marker in the stored bytes keep PDFs of their own.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# A case reference no case has.
MISSING_REFERENCE = "2099-9999"


# --- verified clients ---------------------------------------------------------------------------


def otp_verify_session(client: TestClient, user) -> None:
    """Mark the client's session as verified by the user's authenticator (creating one), as the
    real login does after the code."""
    device = make_totp_device(user=user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


# --- the case edit page -------------------------------------------------------------------------


def form_data(form) -> dict[str, Any]:
    """What a browser submits for an unbound form as it was first rendered."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        input_type = getattr(field.widget, "input_type", None)
        if input_type == "checkbox" and not isinstance(value, list | tuple):
            if value:
                data[bound.html_name] = "on"
            continue
        if isinstance(field.widget, MultiWidget) and not isinstance(value, list | tuple):
            # e.g. the admin's date and time boxes for one DateTimeField
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{bound.html_name}_{i}"] = "" if part is None else part.isoformat()
            continue
        if value is None:
            data[bound.html_name] = ""
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(getattr(v, "pk", v)) for v in value]
        elif hasattr(value, "isoformat"):
            data[bound.html_name] = value.isoformat()
        else:
            data[bound.html_name] = str(value)
        if field.show_hidden_initial:  # fields with a callable default, e.g. opened_at
            data[bound.html_initial_name] = data[bound.html_name]
    return data


def formset_data(formset) -> dict[str, Any]:
    data = form_data(formset.management_form)
    for form in formset.forms:
        data.update(form_data(form))
    return data


def admin_change_data(response) -> dict[str, Any]:
    """What a browser submits for a Django admin add or change page as `response` (a GET)
    rendered it: the form and every inline formset, unchanged."""
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(formset_data(inline.formset))
    return data


def edit_data(case: Case, **changes: Any) -> dict[str, Any]:
    """The edit page's POST data for `case` unchanged (all fields, special ones included),
    with `changes` applied on top."""
    client = Client.objects.get(pk=case.client_id)
    data = {
        **form_data(ClientForm(instance=client, prefix="client", can_see_special=True)),
        **formset_data(
            ClientNameFormSet(instance=client, prefix="names", queryset=client.names.all())
        ),
        **formset_data(ContactFormSet(instance=client, prefix="contacts")),
        **form_data(CaseForm(instance=case, prefix="case")),
    }
    data.update(changes)
    return data


# --- letters ------------------------------------------------------------------------------------

BODY_MARKER = "Nous soutenons la demande"
TEMPLATE_BODY = (
    "Madame, Monsieur,\n"
    "\n"
    f"{BODY_MARKER} de {{{{ client.full_name }}}} (dossier {{{{ case.reference }}}}).\n"
    "\n"
    "{{ facts }}\n"
    "\n"
    "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
)

AUTHORITIES = {
    "ofpra": (
        "OFPRA",
        "Office français de protection des réfugiés et apatrides",
        "asylum_office",
        "FR",
        "fr",
        "201 rue Carnot\n94136 Fontenay-sous-Bois Cedex\nFrance",
    ),
    "bamf": (
        "BAMF",
        "Bundesamt für Migration und Flüchtlinge",
        "asylum_office",
        "DE",
        "de",
        "Frankenstraße 210\n90461 Nürnberg\nDeutschland",
    ),
}


def get_authority(code: str) -> Authority:
    """The reference-data authority; recreated if a transactional test flushed the tables."""
    short, name, kind, country, language, address = AUTHORITIES[code]
    authority, _ = Authority.objects.get_or_create(
        code=code,
        defaults={
            "short_name": short,
            "name": name,
            "kind": kind,
            "country": country,
            "language": language,
            "address": address,
        },
    )
    return authority


def draft(case, template, authority, by) -> Letter:
    return letter_services.letter_draft(case=case, template=template, authority=authority, by=by)


def approve(letter, *, author, approver) -> Letter:
    letter_services.letter_submit(letter=letter, by=author)
    letter_services.letter_approve(letter=letter, by=approver, text_hash=letter.text_hash)
    letter.refresh_from_db()
    return letter


def store_stub_pdf(letter: Letter) -> Letter:
    """Mark an issued letter ready with a tiny stored PDF, to test access without WeasyPrint."""
    letter.pdf.save(f"letters/stub-{letter.pk}.pdf", ContentFile(PDF), save=False)
    letter.pdf_sha256 = hashlib.sha256(PDF).hexdigest()
    letter.pdf_size = len(PDF)
    letter.render_status = Letter.RenderStatus.READY
    letter.save(update_fields=["pdf", "pdf_sha256", "pdf_size", "render_status"])
    return letter


# --- demo ---------------------------------------------------------------------------------------


def seed(*args) -> str:
    """Run `manage.py seed_demo` (whatever DEBUG says); returns what it printed."""
    out = StringIO()
    call_command("seed_demo", "--allow-production", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- Django admin -------------------------------------------------------------------------------


def _post_admin(client: TestClient, url: str, data: dict[str, Any]) -> None:
    response = client.post(url, data)
    context = response.context or {}
    errors = context.get("errors") if context else None
    assert response.status_code == 302, (url, errors and list(errors))


def admin_edits(client: TestClient, *, case: Case, by, marker: str) -> None:
    """Edits through Django admin that put `marker` into client data the admin's history could
    name: the client's names changed, deleted and added (inline), an event added (inline) and
    renamed on its own page, the case's latest document renamed and then deleted. `client` is
    logged in as `by`, a superuser of the case's organisation; the client has two names."""
    client_url = reverse("admin:casework_client_change", args=[case.client_id])
    data = admin_change_data(client.get(client_url))
    added = int(data["names-TOTAL_FORMS"])
    data["names-0-family_name"] = f"{marker}-changed"
    data["names-1-DELETE"] = "on"
    data["names-TOTAL_FORMS"] = str(added + 1)
    data.update(
        {
            f"names-{added}-kind": "alias",
            f"names-{added}-script": "latn",
            f"names-{added}-family_name": f"{marker}-added",
        }
    )
    _post_admin(client, client_url, data)

    # The consent inline wants to know who recorded each consent.
    Consent.objects.filter(case=case, recorded_by=None).update(recorded_by=by)
    case_url = reverse("admin:casework_case_change", args=[case.pk])
    data = admin_change_data(client.get(case_url))
    added = int(data["events-TOTAL_FORMS"])
    data["events-TOTAL_FORMS"] = str(added + 1)
    data.update(
        {
            f"events-{added}-kind": "hearing",
            f"events-{added}-title": f"{marker}-event",
            f"events-{added}-date": "2026-05-04",
        }
    )
    _post_admin(client, case_url, data)

    event = case.events.latest("pk")
    event_url = reverse("admin:casework_event_change", args=[event.pk])
    data = admin_change_data(client.get(event_url))
    data["title"] = f"{marker}-event-renamed"
    _post_admin(client, event_url, data)

    document = case.documents.latest("pk")
    document_url = reverse("admin:casework_document_change", args=[document.pk])
    data = admin_change_data(client.get(document_url))
    data["title"] = f"{marker}-document"
    _post_admin(client, document_url, data)
    _post_admin(
        client, reverse("admin:casework_document_delete", args=[document.pk]), {"post": "yes"}
    )


# --- spreadsheets -------------------------------------------------------------------------------


def ods_bytes(rows: list[list[str]], *, formula: str = "") -> bytes:
    """A minimal OpenDocument spreadsheet (what LibreOffice saves, less the styles) with `rows`
    of text cells; `formula` adds a cell computed by that formula to the second row."""
    import zipfile
    from io import BytesIO
    from xml.sax.saxutils import escape

    def cell(value: str) -> str:
        return (
            f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
            "</table:table-cell>"
        )

    body = []
    for i, row in enumerate(rows):
        cells = "".join(cell(v) for v in row)
        if formula and i == 1:
            cells += (
                f'<table:table-cell table:formula="{escape(formula)}" office:value-type="float" '
                'office:value="2"><text:p>2</text:p></table:table-cell>'
            )
        body.append(f"<table:table-row>{cells}</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
        + "".join(body)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return out.getvalue()


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    """An XLSX of `rows` written by openpyxl (a string starting with "=" becomes a formula)."""
    from io import BytesIO

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


class BrokenCache:
    """A cache backend whose server is down: every call raises, as django-redis's and Django's
    Redis backends do when Redis does not answer. CACHES = {"default": BROKEN_CACHE}."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self, **kwargs: Any) -> None:
        pass  # (Django closes caches after every request)

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("cache server unavailable (test)")

        return fail


BROKEN_CACHE = {"BACKEND": "tests.helpers.BrokenCache"}
