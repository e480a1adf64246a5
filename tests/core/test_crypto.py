"""Encryption at rest: ciphertext in the database and on disk, hard errors on a wrong key,
rotation to a new key, rows and files that cannot be swapped."""

import base64
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection

from casework.models import Client, ClientName, Note
from casework.services import document_upload
from core import crypto
from tests.factories import make_case, make_note

OLD = "dGVzdC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
NEW = base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def keys(settings):
    def use(*values):
        settings.FIELD_ENCRYPTION_KEYS = list(values)
        crypto.reset_keys()

    yield use
    crypto.reset_keys()


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def case(db, org, caseworker):
    return make_case(organisation=org, assignees=[caseworker])


def test_fields_are_ciphertext_in_the_database_and_plaintext_on_the_model(case, caseworker):
    note = make_note(case=case, author=caseworker, body="MARKER-NOTE Signal only")
    stored = raw("casework_note", "body", note.pk)
    assert stored.startswith("pv1:") and "MARKER" not in stored
    assert Note.objects.get(pk=note.pk).body == "MARKER-NOTE Signal only"
    client = case.client
    assert "SPECIAL" not in raw("casework_client", "orientation", client.pk)
    assert Client.objects.get(pk=client.pk).orientation == "SPECIAL-ORIENTATION-MARKER"


def test_a_wrong_key_is_a_hard_error_never_ciphertext(case, caseworker, keys):
    note = make_note(case=case, author=caseworker, body="secret")
    keys(NEW)
    with pytest.raises(crypto.DecryptionError):
        Note.objects.get(pk=note.pk).body  # noqa: B018


def test_ciphertext_moved_to_another_row_does_not_decrypt(case, caseworker):
    a = make_note(case=case, author=caseworker, body="first")
    b = make_note(case=case, author=caseworker, body="second")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE casework_note SET body = %s WHERE id = %s",
            [raw("casework_note", "body", a.pk), b.pk],
        )
    with pytest.raises(crypto.DecryptionError):
        Note.objects.get(pk=b.pk).body  # noqa: B018


def test_update_with_plaintext_is_refused(case):
    with pytest.raises(ValueError, match="encrypted"):
        ClientName.objects.filter(client=case.client).update(family_name="Clear text")


def test_files_are_encrypted_on_disk(case, caseworker):
    from django.core.files.uploadedfile import SimpleUploadedFile

    document = document_upload(
        case=case,
        upload=SimpleUploadedFile("scan.pdf", b"%PDF-1.4 MARKER-DOCUMENT"),
        kind="passport",
        title="Passport",
        content_type="application/pdf",
        by=caseworker,
    )
    on_disk = default_storage.read_raw(document.file.name)
    assert b"MARKER" not in on_disk and on_disk.startswith(crypto.FILE_MAGIC)
    with document.file.open("rb") as f:
        assert f.read() == b"%PDF-1.4 MARKER-DOCUMENT"


def test_rotation_leaves_everything_readable_with_only_the_new_key(case, caseworker, keys):
    from django.core.files.uploadedfile import SimpleUploadedFile

    note = make_note(case=case, author=caseworker, body="before rotation")
    document = document_upload(
        case=case,
        upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 rotate me"),
        kind="other",
        title="Scan",
        content_type="application/pdf",
        by=caseworker,
    )
    keys(NEW, OLD)
    call_command("rotate_keys", stdout=StringIO())
    call_command("rotate_keys", stdout=StringIO())  # resumable: a no-op now
    keys(NEW)
    assert Note.objects.get(pk=note.pk).body == "before rotation"
    assert Client.objects.get(pk=case.client.pk).criminal_case == "SPECIAL-CRIMINAL-MARKER"
    assert {n.family_name for n in ClientName.objects.filter(client=case.client)} >= {"Zuganshin"}
    with document.file.open("rb") as f:
        assert f.read() == b"%PDF-1.4 rotate me"
    assert crypto.key_id_of_text(raw("casework_note", "body", note.pk)) == crypto.current_key_id()


def test_settings_refuse_to_start_without_keys():
    import subprocess
    import sys

    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SECRET_KEY": "x" * 50,
        "PRISTAN_IGNORE_DOTENV": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
