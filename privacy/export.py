"""The per-person export (GDPR Art. 15): everything Pristan holds about one client."""

import io
import json
import re
import zipfile

from django.db import models
from django.utils import timezone

from casework.models import Client
from core.fields import EncryptedChoiceListField

_INTERNAL_FIELDS = {"id", "crypto_id", "name_index", "value_index", "file"}


def _fields(obj: models.Model) -> dict:
    """Every own field of a row, decrypted, without relations and internal keys."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.is_relation or field.name in _INTERNAL_FIELDS:
            continue
        value = getattr(obj, field.attname)
        if getattr(field, "multiple", False):  # several countries
            value = [country.code for country in value]
        value = getattr(value, "code", value)  # one country
        data[field.name] = value
        if field.choices and isinstance(value, str) and value:
            data[f"{field.name}_display"] = str(dict(field.flatchoices).get(value, value))
        elif isinstance(field, EncryptedChoiceListField) and value:
            data[f"{field.name}_display"] = field.labels(value)
    return data


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name).strip("._")[:100] or "file"


def _add_file(archive: zipfile.ZipFile, field_file, path: str) -> str | None:
    if not field_file:
        return None
    try:
        with field_file.open("rb") as f:
            archive.writestr(path, f.read())
    except FileNotFoundError:
        return None
    return path


def client_export(*, client: Client) -> bytes:
    """Everything Pristan holds about one client as a ZIP: `client.json` (every field of the
    client, names, contacts, relatives, cases with their procedure references, statements for
    letters, events, notes, consents, documents and letters), the documents and the letter
    PDFs, decrypted. Staff names are left out."""
    client = Client.objects.prefetch_related("names", "contacts", "relatives").get(pk=client.pk)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        cases = []
        cases_of_client = client.cases.select_related("authority", "letter_name")
        for case in cases_of_client.prefetch_related("grounds"):
            documents = []
            for document in case.documents.order_by("uploaded_at", "pk"):
                path = f"documents/{document.pk}-{_safe_name(document.download_name)}"
                documents.append(
                    {**_fields(document), "file": _add_file(archive, document.file, path)}
                )
            letters = []
            for letter in case.letters.select_related("authority").order_by("created_at", "pk"):
                path = f"letters/{_safe_name(letter.number) if letter.number else letter.pk}.pdf"
                letters.append(
                    {
                        "number": letter.number,
                        "issued_at": letter.issued_at,
                        "authority": letter.authority.name,
                        "language": letter.language,
                        "status": letter.status,
                        "subject": letter.subject,
                        "body": letter.body,
                        "pdf": _add_file(archive, letter.pdf, path),
                    }
                )
            cases.append(
                {
                    **_fields(case),
                    "authority": case.authority.name if case.authority else None,
                    "letter_name": case.letter_name.full_name if case.letter_name else None,
                    "grounds": [str(ground) for ground in case.grounds.all()],
                    "references": [_fields(reference) for reference in case.references.all()],
                    "statements": [_fields(statement) for statement in case.statements.all()],
                    "events": [_fields(event) for event in case.events.all()],
                    "notes": [_fields(note) for note in case.notes.order_by("created_at", "pk")],
                    "consents": [_fields(consent) for consent in case.consents.all()],
                    "documents": documents,
                    "letters": letters,
                }
            )
        data = {
            "format": "pristan-client-export/1",
            "exported_at": timezone.now(),
            "organisation": client.organisation.name,
            "client": _fields(client),
            "names": [_fields(name) for name in client.names.all()],
            "contacts": [_fields(contact) for contact in client.contacts.all()],
            "relatives": [_fields(relative) for relative in client.relatives.all()],
            "cases": cases,
        }
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        archive.writestr("client.json", text)
    return buffer.getvalue()
