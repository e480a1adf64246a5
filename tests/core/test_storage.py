"""Encrypted file storage, in a local folder and in an S3-compatible bucket: moto's S3 server (an
emulator, not Amazon S3 or MinIO) on a private loopback port, spoken to over HTTP (tests/s3.py)."""

import base64
import hashlib
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from casework.models import Authority, Document
from core import crypto
from core.storage import EncryptedFileSystemStorage, EncryptedStorageMixin
from core.storage_s3 import EncryptedS3Storage
from letters import services as letter_services
from letters.models import Letter, LetterTemplate
from tests import s3

CANARY = b"CANARY-Zuganshin-passport-4417"
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n% " + CANARY + b"\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3.s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint):
    return s3.create_bucket(s3_endpoint)


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, tmp_path):
    if request.param == "filesystem":
        return EncryptedFileSystemStorage(location=tmp_path / "private", base_url=None)
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("bucket")
    return EncryptedS3Storage(**s3.storage_options(endpoint, bucket))


def stored_bytes(storage, name) -> bytes:
    """The bytes at rest, read without the storage's help."""
    if isinstance(storage, EncryptedFileSystemStorage):
        with open(storage.path(name), "rb") as f:
            return f.read()
    return s3.raw_objects(storage.endpoint_url, storage.bucket_name)[name]


def test_saves_opens_lists_and_deletes_files_encrypted_at_rest(storage):
    name = storage.save("documents/ab/scan", ContentFile(PDF))

    assert name == "documents/ab/scan"
    assert storage.exists(name)
    with storage.open(name, "rb") as f:
        assert f.read() == PDF
    assert storage.listdir("documents") == (["ab"], [])
    assert storage.listdir("documents/ab") == ([], ["scan"])

    at_rest = stored_bytes(storage, name)
    assert CANARY not in at_rest and b"%PDF" not in at_rest
    assert at_rest.startswith(crypto.FILE_MAGIC)
    assert storage.read_raw(name) == at_rest

    storage.delete(name)
    assert not storage.exists(name)
    with pytest.raises(FileNotFoundError):
        storage.open(name, "rb")


def test_a_taken_name_gets_another_and_the_file_is_bound_to_it(storage):
    first = storage.save("letters/2026/1-abc.pdf", ContentFile(b"first"))
    second = storage.save("letters/2026/1-abc.pdf", ContentFile(b"second"))

    assert first != second
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"


def test_a_file_copied_to_another_name_does_not_decrypt(storage):
    name = storage.save("documents/ab/one", ContentFile(PDF))
    storage.write_raw(storage.save("documents/ab/two", ContentFile(b"x")), storage.read_raw(name))

    with pytest.raises(crypto.DecryptionError):
        storage.open("documents/ab/two")


def test_write_raw_replaces_the_stored_bytes_as_key_rotation_does(storage):
    name = storage.save("documents/cd/scan", ContentFile(PDF))

    storage.write_raw(name, crypto.encrypt_file(b"rewritten", name=name))

    assert storage.open(name).read() == b"rewritten"
    assert storage.listdir("documents/cd") == ([], ["scan"])  # no temporary file left


def test_filesystem_race_for_a_name_binds_the_file_to_the_name_it_got(tmp_path):
    """The name is chosen free, and taken before the write: the folder's storage writes under
    another name, and the ciphertext must be bound to that one."""
    storage = EncryptedFileSystemStorage(location=tmp_path, base_url=None)
    storage.save("doc", ContentFile(b"first"))

    stored = storage._save("doc", ContentFile(b"second"))

    assert stored != "doc"
    assert storage.open(stored).read() == b"second"
    assert storage.open("doc").read() == b"first"


def test_bucket_objects_are_private_opaque_and_never_linked(s3_endpoint, bucket):
    storage = EncryptedS3Storage(**s3.storage_options(s3_endpoint, bucket))
    name = storage.save("letters/2026/7-token.pdf", ContentFile(PDF))
    client = s3.client(s3_endpoint)

    head = client.head_object(Bucket=bucket, Key=name)
    assert head["ContentType"] == "application/octet-stream"
    grants = client.get_object_acl(Bucket=bucket, Key=name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)
    assert storage.url(name) == ""  # no link to the bucket, signed or not


def test_server_side_encryption_can_be_asked_for_on_top(s3_endpoint, bucket):
    storage = EncryptedS3Storage(
        **s3.storage_options(s3_endpoint, bucket),
        object_parameters={"ServerSideEncryption": "AES256"},
    )
    name = storage.save("documents/ef/scan", ContentFile(PDF))

    head = s3.client(s3_endpoint).head_object(Bucket=bucket, Key=name)
    assert head["ServerSideEncryption"] == "AES256"
    assert storage.open(name).read() == PDF


@pytest.fixture
def s3_default_storage(settings, s3_endpoint, bucket):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage_s3.EncryptedS3Storage",
            "OPTIONS": s3.storage_options(s3_endpoint, bucket),
        },
    }
    return s3_endpoint, bucket


def test_document_upload_and_download_go_through_the_bucket(
    s3_default_storage, client, case, caseworker
):
    endpoint, bucket = s3_default_storage
    client.force_login(caseworker)

    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {
            "kind": "passport",
            "title": "Passport",
            "upload": SimpleUploadedFile("паспорт.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302

    document = Document.objects.get(case=case)
    assert isinstance(default_storage._wrapped, EncryptedS3Storage)
    objects = s3.raw_objects(endpoint, bucket)
    assert list(objects) == [document.file.name]
    assert CANARY not in objects[document.file.name]

    download = client.get(reverse("casework:document_download", args=[case.reference, document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF


def test_letter_rendered_into_the_bucket_downloads_decrypted(
    s3_default_storage, case, caseworker, coordinator, client, django_capture_on_commit_callbacks
):
    endpoint, bucket = s3_default_storage
    authority, _ = Authority.objects.get_or_create(
        code="ofpra",
        defaults={
            "short_name": "OFPRA",
            "name": "Office français de protection des réfugiés et apatrides",
            "kind": Authority.Kind.ASYLUM_OFFICE,
            "country": "FR",
            "language": "fr",
            "address": "201 rue Carnot\n94136 Fontenay-sous-Bois",
        },
    )
    template = LetterTemplate.objects.create(
        name="Attestation (test)",
        kind=LetterTemplate.Kind.CONFIRMATION,
        language="fr",
        subject="Attestation",
        body="Madame, Monsieur,\n\nNous accompagnons {{ client.full_name }}.",
    )
    letter = letter_services.letter_draft(
        case=case, template=template, authority=authority, by=caseworker
    )
    letter_services.letter_submit(letter=letter, by=caseworker)
    letter_services.letter_approve(letter=letter, by=coordinator, text_hash=letter.text_hash)
    with django_capture_on_commit_callbacks(execute=True):
        letter_services.letter_issue(letter=letter, by=coordinator)
    letter.refresh_from_db()
    assert letter.render_status == Letter.RenderStatus.READY, letter.render_error

    objects = s3.raw_objects(endpoint, bucket)
    assert list(objects) == [letter.pdf.name]
    at_rest = objects[letter.pdf.name]
    assert at_rest.startswith(crypto.FILE_MAGIC) and b"%PDF" not in at_rest

    client.force_login(coordinator)
    response = client.get(reverse("letters:letter_download", args=[letter.pk]))
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256


def test_both_storages_keep_the_interface_backups_and_key_rotation_use():
    for cls in (EncryptedFileSystemStorage, EncryptedS3Storage):
        assert issubclass(cls, EncryptedStorageMixin)
        assert callable(cls.read_raw) and callable(cls.write_raw)


def test_key_rotation_rewrites_the_files_in_the_bucket(
    s3_default_storage, settings, case, caseworker
):
    from casework.services import document_upload

    endpoint, bucket = s3_default_storage
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = base64.b64encode(b"r" * 32).decode()
    document = document_upload(
        case=case,
        upload=SimpleUploadedFile("a.pdf", PDF),
        kind="other",
        title="Scan",
        content_type="application/pdf",
        by=caseworker,
    )
    before = s3.raw_objects(endpoint, bucket)[document.file.name]
    try:
        settings.FIELD_ENCRYPTION_KEYS = [new, old]
        crypto.reset_keys()
        call_command("rotate_keys", stdout=StringIO())
        settings.FIELD_ENCRYPTION_KEYS = [new]
        crypto.reset_keys()

        after = s3.raw_objects(endpoint, bucket)[document.file.name]
        assert after != before
        assert crypto.key_id_of_file(after[:64]) == crypto.current_key_id()
        with Document.objects.get(pk=document.pk).file.open("rb") as f:
            assert f.read() == PDF
    finally:
        crypto.reset_keys()


def test_admin_shows_an_organisation_logo_in_the_bucket_without_a_link(
    s3_default_storage, org, client
):
    from casework.models import Membership
    from tests.factories import make_user

    admin = make_user(
        organisation=org,
        role=Membership.Role.ADMINISTRATOR,
        is_staff=True,
        is_superuser=True,
    )
    org.logo.save("logo.png", ContentFile(PNG))
    endpoint, bucket = s3_default_storage
    assert s3.raw_objects(endpoint, bucket)[org.logo.name].startswith(crypto.FILE_MAGIC)
    client.force_login(admin)

    response = client.get(reverse("admin:casework_organisation_change", args=[org.pk]))

    assert response.status_code == 200
    assert endpoint.encode() not in response.content and bucket.encode() not in response.content
