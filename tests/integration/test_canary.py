"""The canary: a client whose name, orientation, note and document carry unique marker strings
goes through intake, a note, an upload, an issued letter rendered by a real worker, and edits
in Django admin (names changed, added and deleted inline, an event added and renamed, a
document renamed and deleted: the admin's history must not keep them). Then the whole
database (pg_dump, or the SQLite files), the storage folder, every key in the Redis broker (or
the filesystem queue) and the captured logs are searched: no marker may appear."""

import json
import logging
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from casework.models import Authority, Case, Consent, Membership
from letters import services
from letters.models import Letter, LetterTemplate
from tests.factories import make_organisation, make_user
from tests.helpers import admin_edits
from tests.integration.helpers import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MARKERS = [
    "Канареечкина",  # family name, Cyrillic
    "Kanareechkina",  # its transliteration
    "CANARY-ORIENTATION-7Q",
    "CANARY-NOTE-7Q",
    "CANARY-DOCUMENT-7Q",
    "CANARY-CITY-7Q",
    "CANARY-ADMIN-7Q",
    # The facts about the person (tests/casework/test_person_facts.py): every free-text field,
    # and a vulnerability code, which is kept in an encrypted list.
    "CANARY-VULNERABILITY-7Q",
    "trafficking_victim",
    "CANARY-PHRASE-7Q",
    "CANARY-DIALECT-7Q",
    "CANARY-LANGUAGE-7Q",
    "CANARY-CONTACT-NOTE-7Q",
    "CANARY-SAFETY-NOTE-7Q",
    "+44 7700 900777",
]


@pytest.fixture
def worker_env(media_root):
    return {"PRISTAN_PRIVATE_MEDIA_ROOT": str(media_root)}


def encodings(marker: str) -> list[bytes]:
    """The marker as it could appear in a dump: UTF-8, JSON-escaped, UTF-16 (SQLite)."""
    return [
        marker.encode(),
        json.dumps(marker)[1:-1].encode(),
        marker.encode("utf-16-le"),
    ]


def find_markers(blob: bytes) -> list[str]:
    return [m for m in MARKERS if any(e in blob for e in encodings(m))]


def database_dump() -> bytes:
    connection.close()
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        return subprocess.run(
            ["pg_dump", "-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432),
             "-U", db.get("USER") or "postgres", "--no-owner", name],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
    path = Path(connection.settings_dict["NAME"])
    return b"".join(
        p.read_bytes() for p in [path, Path(f"{path}-wal"), Path(f"{path}-journal")] if p.exists()
    )


def broker_contents() -> bytes:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(url)
        chunks = []
        for key in client.scan_iter():
            chunks.append(key)
            chunks.append(client.dump(key) or b"")
        return b"".join(chunks)
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    return b"".join(p.read_bytes() for p in folder.glob("*") if p.is_file())


def test_no_client_data_anywhere_but_encrypted(client, celery_worker_process, media_root, caplog):
    caplog.set_level(logging.DEBUG)
    org = make_organisation()
    caseworker = make_user(organisation=org, role=Membership.Role.CASEWORKER, special=True)
    coordinator = make_user(organisation=org, role=Membership.Role.COORDINATOR)
    client.force_login(caseworker)

    # Intake through the real form.
    response = client.post(
        reverse("casework:case_create"),
        {
            "client-pseudonym": "Client C-01",
            "client-current_city": "CANARY-CITY-7Q",
            "client-orientation": "CANARY-ORIENTATION-7Q",
            "client-vulnerabilities": ["trafficking_victim", "mental_health"],
            "client-vulnerability_note": "CANARY-VULNERABILITY-7Q",
            "client-new_identity_phrase": "CANARY-PHRASE-7Q",
            "client-interpreter_language": "other",
            "client-interpreter_language_other": "CANARY-LANGUAGE-7Q",
            "client-interpreter_dialect": "CANARY-DIALECT-7Q",
            "client-interpreter_gender": "f",
            "client-do_not_contact": "on",
            "client-contact_note": "CANARY-CONTACT-NOTE-7Q",
            "names-TOTAL_FORMS": "2",
            "names-INITIAL_FORMS": "0",
            "names-MIN_NUM_FORMS": "1",
            "names-MAX_NUM_FORMS": "8",
            "names-0-kind": "legal",
            "names-0-script": "cyrl",
            "names-0-family_name": "Канареечкина",
            "names-0-given_names": "Анна",
            "names-1-kind": "translit",
            "names-1-script": "latn",
            "names-1-family_name": "Kanareechkina",
            "names-1-given_names": "Anna",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-kind": "phone",
            "contacts-0-value": "+44 7700 900777",
            "contacts-0-safety_note": "CANARY-SAFETY-NOTE-7Q",
            "contacts-0-may_call": "on",
            "case-kind": "support_letter",
            "case-risk": "high",
            "case-opened_at": "2026-01-15",
            "case-authority": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    case = Case.objects.get()
    stored = case.client
    assert stored.identity_phrase == "CANARY-PHRASE-7Q"  # the facts really were saved
    assert stored.vulnerabilities == ["trafficking_victim", "mental_health"]
    assert stored.contacts.get().may_call
    # Revealing them writes the access log (ids only).
    assert client.post(reverse("casework:case_reveal", args=[case.reference])).status_code == 200
    response = client.post(reverse("casework:identity_phrase_reveal", args=[case.reference]))
    assert b"CANARY-PHRASE-7Q" in response.content
    response = client.post(
        reverse("casework:note_add", args=[case.reference]), {"body": "CANARY-NOTE-7Q"}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {
            "kind": "evidence",
            "title": "Summons",
            "upload": SimpleUploadedFile("summons.pdf", b"%PDF-1.4\nCANARY-DOCUMENT-7Q\n%%EOF"),
        },
    )
    assert response.status_code == 302
    assert case.documents.count() == 1 and case.notes.count() == 1
    # Search by name (the search text must not be logged or stored either).
    client.post(reverse("casework:case_list"), {"q": "Канареечкина"})

    # A letter, issued and rendered by the real worker.
    Consent.objects.get_or_create(case=case, purpose=Consent.Purpose.LETTERS)
    template = LetterTemplate.objects.create(
        name="Canary",
        kind="support",
        language="fr",
        body="Nous accompagnons {{ client.full_name }}.",
    )
    # (A transactional test before this one may have flushed the migrations' reference data.)
    authority = Authority.objects.filter(code="ofpra").first() or Authority.objects.create(
        code="ofpra-canary",
        short_name="OFPRA",
        name="Office français de protection des réfugiés et apatrides",
        kind=Authority.Kind.ASYLUM_OFFICE,
        country="FR",
        address="201 rue Carnot\n94136 Fontenay-sous-Bois",
        language="fr",
    )
    letter = services.letter_draft(case=case, template=template, authority=authority, by=caseworker)
    Letter.objects.filter(pk=letter.pk).update(
        status=Letter.Status.APPROVED,
        reviewed_hash=letter.text_hash,
        signer=letter.case.organisation.signers.get(),
    )
    letter.refresh_from_db()
    services.letter_issue(letter=letter, by=coordinator)
    wait_until(
        lambda: Letter.objects.get(pk=letter.pk).render_status == Letter.RenderStatus.READY,
        timeout=90,
        message=lambda: celery_worker_process.tail(),
    )
    # The letter really contains the name (so the check below is not vacuous)...
    with Letter.objects.get(pk=letter.pk).pdf.open("rb") as f:
        assert f.read().startswith(b"%PDF")
    assert "Kanareechkina" in Letter.objects.get(pk=letter.pk).body

    # An administrator edits the client, the case, an event and the document in Django admin.
    administrator = make_user(
        organisation=org, role=Membership.Role.ADMINISTRATOR, is_staff=True, is_superuser=True
    )
    client.force_login(administrator)
    admin_edits(client, case=case, by=administrator, marker="CANARY-ADMIN-7Q")

    # ...and yet it is nowhere in clear.
    places = {
        "database": database_dump(),
        "storage": b"".join(p.read_bytes() for p in media_root.rglob("*") if p.is_file()),
        "broker": broker_contents(),
        "logs": caplog.text.encode() + celery_worker_process.tail(100_000).encode(),
    }
    # Positive controls: the dump is real (the pseudonym is stored in clear, by design).
    assert len(places["database"]) > 10_000
    assert b"Client C-01" in places["database"]
    assert any(media_root.rglob("*.pdf")) or any(p.is_file() for p in media_root.rglob("*"))
    found = {place: find_markers(blob) for place, blob in places.items()}
    assert found == {place: [] for place in places}, found
