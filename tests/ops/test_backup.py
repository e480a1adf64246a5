"""Backups: `manage.py backup` and `manage.py restore` on the engine of this test run.

The round trip restores into an empty installation of its own (a new SQLite file, or a scratch
PostgreSQL database test_pristan_restore_<random> on the same server, always dropped, and an
empty storage folder), by running `manage.py restore` as a separate process, then compares
every row of every table and every stored file, checks the access log's chain, and reads a
client's name and files with the field keys. The canary: a client's name and phone number
appear nowhere in the archive, nor in its decrypted and decompressed content (where they are
still field ciphertext, unreadable with the backup key alone).
"""

import base64
import gzip
import hashlib
import io
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from casework import audit, services
from casework.models import ContactChannel, Membership, Note
from letters import services as letter_services
from letters.models import Letter, LetterTemplate
from ops import database, stream
from tests.factories import make_case, make_event, make_organisation, make_user

BASE_DIR = Path(__file__).resolve().parents[2]
BACKUP_KEY = os.environ["BACKUP_KEY"]  # config/settings_test.py's fixed test key
CANARY_NAME = "Бэкапова-Канарейка"
CANARY_LATIN = "Bekapova-Kanareyka"
CANARY_PHONE = "+33 6 71 42 99 17 BK"
CANARIES = [CANARY_NAME, CANARY_LATIN, CANARY_PHONE]
PDF = b"%PDF-1.4\n% scanned OFPRA decision\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def encodings(marker: str) -> list[bytes]:
    return [marker.encode(), json.dumps(marker)[1:-1].encode(), marker.encode("utf-16-le")]


def found_canaries(blob: bytes) -> list[str]:
    return [m for m in CANARIES if any(e in blob for e in encodings(m))]


# The stream cipher on its own ---------------------------------------------------------------

KEY = secrets.token_bytes(32)
OTHER_KEY = secrets.token_bytes(32)


def seal(data: bytes, key: bytes = KEY, chunk_size: int = 1024) -> bytes:
    out = io.BytesIO()
    writer = stream.EncryptingWriter(out, key, chunk_size=chunk_size)
    for i in range(0, len(data), 700):
        writer.write(data[i : i + 700])
    writer.close()
    return out.getvalue()


def unseal(blob: bytes, keys=(KEY,)) -> bytes:
    reader = stream.DecryptingReader(io.BytesIO(blob), list(keys))
    data = reader.read()
    assert reader.finished
    return data


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 2048, 5000])
def test_stream_round_trip_at_every_chunk_boundary(size):
    data = os.urandom(size)
    assert unseal(seal(data)) == data


def _chunks(blob: bytes, chunk_size: int = 1024) -> tuple[bytes, list[bytes]]:
    header, rest = blob[: stream._HEADER.size], blob[stream._HEADER.size :]
    step = chunk_size + 16
    return header, [rest[i : i + step] for i in range(0, len(rest), step)]


@pytest.mark.django_db(transaction=False)
def test_truncated_reordered_altered_or_extended_streams_do_not_decrypt():
    blob = seal(os.urandom(4000))
    header, chunks = _chunks(blob)
    assert len(chunks) == 4
    damaged = {
        "cut at a chunk boundary": header + b"".join(chunks[:2]),
        "cut inside a chunk": blob[:-100],
        "only the header": header,
        "chunks swapped": header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "a chunk dropped": header + chunks[0] + b"".join(chunks[2:]),
        "one bit flipped": blob[:500] + bytes([blob[500] ^ 1]) + blob[501:],
        "salt changed": blob[:30] + bytes([blob[30] ^ 1]) + blob[31:],
        "bytes appended": blob + os.urandom(1040),
    }
    for what, archive in damaged.items():
        try:
            unseal(archive)
        except stream.BackupError as error:
            assert "does not decrypt" in str(error) or "truncated" in str(error), what
        else:
            pytest.fail(f"{what}: it decrypted")


@pytest.mark.django_db(transaction=False)
def test_wrong_key_is_named_and_rotation_reads_an_older_key():
    blob = seal(b"hello" * 500)
    with pytest.raises(stream.BackupError, match="Wrong backup key"):
        unseal(blob, keys=[OTHER_KEY])
    assert unseal(blob, keys=[OTHER_KEY, KEY]) == b"hello" * 500
    with pytest.raises(stream.BackupError, match="not a Pristan backup"):
        unseal(b"PK\x03\x04" + os.urandom(200))


@pytest.mark.django_db(transaction=False)
def test_keys_are_checked(settings):
    settings.BACKUP_KEY = []
    with pytest.raises(stream.BackupError, match="No backup key"):
        stream.configured_keys()
    settings.BACKUP_KEY = [base64.b64encode(b"short").decode()]
    with pytest.raises(stream.BackupError, match="32 bytes"):
        stream.configured_keys()


# Installations -------------------------------------------------------------------------------


@pytest.fixture
def storage_root(settings, tmp_path):
    """The source installation's files: encrypted, as in production, in a folder of the test."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage.EncryptedFileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    return root


def _pg_params(name: str) -> dict:
    db = connection.settings_dict
    params = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "dbname": name,
    }
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    return params


def _pg_connect(name: str, **kwargs):
    import psycopg

    return psycopg.connect(**_pg_params(name), **kwargs)


class Installation:
    """An installation run by separate `manage.py` processes: its database URL, its storage."""

    def __init__(self, root: Path, database_url: str, database: str):
        self.root = root
        self.database_url = database_url
        self.database = database
        self.private = root / "private"
        self.private.mkdir(parents=True)

    def env(self, **extra) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "PYTEST", "DJANGO_SETTINGS")) and k != "PRISTAN_STORAGE"
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings_test",
            DATABASE_URL=self.database_url,
            PRISTAN_VAR_DIR=str(self.root / "var"),
            PRISTAN_PRIVATE_MEDIA_ROOT=str(self.private),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def manage(self, *args: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            env=self.env(**env),
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def tables(self) -> list[str]:
        if connection.vendor == "postgresql":
            with _pg_connect(self.database) as conn:
                rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                return [r[0] for r in rows]
        if not Path(self.database).exists():
            return []
        with sqlite3.connect(self.database) as conn:
            return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]

    def files(self) -> dict[str, bytes]:
        return stored_files(self.private)


def stored_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def empty_installation(tmp_path):
    """A new installation with an empty database and an empty storage folder."""
    root = tmp_path / "restored"
    if connection.vendor == "postgresql":
        name = f"test_pristan_restore_{uuid.uuid4().hex[:10]}"
        with _pg_connect("postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        params = _pg_params(name)
        password = f":{params['password']}" if "password" in params else ""
        url = f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{name}"
        try:
            yield Installation(root, url, name)
        finally:
            with _pg_connect("postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = root / "restored.sqlite3"
        yield Installation(root, f"sqlite:///{path}", str(path))


# Data ----------------------------------------------------------------------------------------


def make_data(*, letter: bool) -> dict:
    """An organisation in use: people, a case of the canary client with a contact, an event, a
    note, an uploaded document, access-log entries and (if `letter`) an issued letter whose
    PDF the (eager) worker rendered."""
    org = make_organisation()
    caseworker = make_user(organisation=org, role=Membership.Role.CASEWORKER, special=True)
    coordinator = make_user(organisation=org, role=Membership.Role.COORDINATOR)
    case = make_case(
        organisation=org,
        assignees=[caseworker],
        family_name=CANARY_LATIN,
        given_names="Anna",
        cyrillic=(CANARY_NAME, "Анна"),
        pseudonym="Client Canary",
    )
    ContactChannel.objects.create(client=case.client, kind="phone", value=CANARY_PHONE)
    make_case(organisation=org, assignees=[caseworker])
    make_event(case=case)
    Note.objects.create(case=case, author=caseworker, body=f"Called {CANARY_NAME} on Signal.")
    document = services.document_upload(
        case=case,
        upload=SimpleUploadedFile("decision.pdf", PDF, content_type="application/pdf"),
        kind="decision",
        title="OFPRA decision",
        content_type="application/pdf",
        by=caseworker,
    )
    for action in (audit.Action.VIEW, audit.Action.DOWNLOAD):
        audit.record(None, action, case, user=caseworker)
    data = {"case": case, "document": document}
    if letter:
        template = LetterTemplate.objects.create(
            name="Support (backup test)",
            kind="support",
            language="en",
            subject="Support for {{ case.reference }}",
            body="We support {{ client.full_name }}.",
        )
        draft = letter_services.letter_draft(
            case=case, template=template, authority=case.authority, by=caseworker
        )
        letter_services.letter_submit(letter=draft, by=caseworker)
        letter_services.letter_approve(letter=draft, by=coordinator, text_hash=draft.text_hash)
        draft.refresh_from_db()
        letter_services.letter_issue(letter=draft, by=coordinator)
        issued = Letter.objects.get(pk=draft.pk)
        assert issued.render_status == Letter.RenderStatus.READY, issued.render_error
        data["letter"] = issued
    return data


def table_rows(vendor: str, database: str) -> dict[str, list[tuple]]:
    """Every row of every model's table (and of django_migrations), in primary-key order, read
    straight from the database without Django."""
    tables = {"django_migrations": "id"}
    for model in apps.get_models(include_auto_created=True):
        tables[model._meta.db_table] = model._meta.pk.column
    rows = {}
    conn = _pg_connect(database) if vendor == "postgresql" else sqlite3.connect(database)
    with conn:
        for table, pk in sorted(tables.items()):
            rows[table] = list(conn.execute(f'SELECT * FROM "{table}" ORDER BY "{pk}"'))  # noqa: S608
    conn.close()
    return rows


def backup_to(path: Path) -> None:
    call_command("backup", str(path))
    assert path.exists() and not path.with_name(path.name + ".partial").exists()


def decrypted_content(archive: bytes) -> bytes:
    """With the backup key alone: the tar stream inside the archive, decompressed."""
    reader = stream.DecryptingReader(io.BytesIO(archive), stream.configured_keys())
    return gzip.decompress(reader.read())


# The round trip --------------------------------------------------------------------------------

CHECK_RESTORED = """
import hashlib, json
from django.core.files.storage import default_storage
from django.core.management import call_command
from casework.models import ClientName, ContactChannel, Document
from letters.models import Letter
call_command("verify_access_log")
document = Document.objects.get()
letter = Letter.objects.get()
print(json.dumps({
    "names": sorted(n.family_name for n in ClientName.objects.all()),
    "phone": ContactChannel.objects.get().value,
    "document": hashlib.sha256(default_storage.open(document.file.name).read()).hexdigest()
        == document.sha256,
    "letter": hashlib.sha256(default_storage.open(letter.pdf.name).read()).hexdigest()
        == letter.pdf_sha256,
}))
"""


def test_round_trip_restores_everything_and_the_archive_reveals_nothing(
    storage_root, empty_installation, tmp_path
):
    data = make_data(letter=True)
    archive_path = tmp_path / "pristan.pristan-backup"
    backup_to(archive_path)
    assert archive_path.stat().st_mode & 0o777 == 0o600
    archive = archive_path.read_bytes()

    # Without the backup key, nothing; with it alone, still only field ciphertext.
    assert found_canaries(archive) == []
    content = decrypted_content(archive)
    assert found_canaries(content) == []
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == database.DATABASE_MEMBERS[connection.vendor]
    assert names[-1] == "manifest.json"
    assert manifest["engine"] == connection.vendor
    assert "casework.0003_access_log_append_only" in manifest["migrations"]
    # The access log's anchors, a copy of its heads away from the server, checked on restore.
    assert manifest["access_log_anchors"] == [str(a) for a in audit.heads()] != []
    assert {f["name"] for f in manifest["files"]} == {
        data["document"].file.name,
        data["letter"].pdf.name,
    }
    for entry in manifest["files"]:
        stored = (storage_root / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(stored).hexdigest()
        assert f"files/{entry['name']}" in names

    target = empty_installation
    result = target.manage("restore", str(archive_path))
    assert result.returncode == 0, result.stderr
    assert "chain OK" in result.stderr

    source_db = connection.settings_dict["NAME"]
    source_rows = table_rows(connection.vendor, str(source_db))
    restored_rows = table_rows(connection.vendor, target.database)
    assert source_rows.keys() == restored_rows.keys()
    for table, rows in source_rows.items():
        assert restored_rows[table] == rows, table
    assert len(source_rows["casework_accessevent"]) >= 2
    assert len(source_rows["letters_letter"]) == 1
    assert target.files() == stored_files(storage_root)  # byte for byte: still ciphertext

    checked = target.manage("shell", "-v", "0", "-c", CHECK_RESTORED)
    assert checked.returncode == 0, checked.stderr
    assert "access log OK" in checked.stdout
    result = json.loads(checked.stdout.strip().splitlines()[-1])
    assert CANARY_NAME in result["names"] and CANARY_LATIN in result["names"]
    assert result == {**result, "phone": CANARY_PHONE, "document": True, "letter": True}


def test_restored_data_stays_unreadable_with_other_field_keys(
    storage_root, empty_installation, tmp_path
):
    make_data(letter=False)
    archive = tmp_path / "a.pristan-backup"
    backup_to(archive)
    other_keys = base64.b64encode(secrets.token_bytes(32)).decode()
    result = empty_installation.manage("restore", str(archive), FIELD_ENCRYPTION_KEYS=other_keys)
    assert result.returncode == 0, result.stderr
    assert "cannot decrypt the restored data" in result.stderr
    shown = empty_installation.manage(
        "shell",
        "-c",
        "from casework.models import ClientName\n"
        "for n in ClientName.objects.all():\n"
        "    try: print(n.family_name)\n"
        "    except Exception as e: print(type(e).__name__)",
        FIELD_ENCRYPTION_KEYS=other_keys,
    )
    assert "DecryptionError" in shown.stdout
    assert found_canaries((shown.stdout + shown.stderr).encode()) == []


def test_wrong_key_or_damaged_archive_restores_nothing(storage_root, empty_installation, tmp_path):
    make_data(letter=False)
    archive = tmp_path / "a.pristan-backup"
    backup_to(archive)
    blob = archive.read_bytes()
    truncated = tmp_path / "truncated.pristan-backup"
    truncated.write_bytes(blob[: len(blob) // 2])
    cut_at_chunk = tmp_path / "cut.pristan-backup"
    cut_at_chunk.write_bytes(blob[: stream._HEADER.size + stream.CHUNK_SIZE + 16])
    altered = tmp_path / "altered.pristan-backup"
    altered.write_bytes(blob[:-40] + bytes([blob[-40] ^ 0x80]) + blob[-39:])
    wrong_key = base64.b64encode(secrets.token_bytes(32)).decode()

    attempts = [
        (archive, {"BACKUP_KEY": wrong_key}, "Wrong backup key"),
        (truncated, {}, "truncated"),
        (altered, {}, "does not decrypt"),
    ]
    if len(blob) > stream._HEADER.size + stream.CHUNK_SIZE + 16:
        attempts.append((cut_at_chunk, {}, "truncated"))
    for path, env, message in attempts:
        result = empty_installation.manage("restore", str(path), **env)
        assert result.returncode == 1, result.stderr
        assert message in result.stderr and "Nothing was restored" in result.stderr
        assert "Traceback" not in result.stderr
        assert empty_installation.tables() == []
        assert empty_installation.files() == {}

    # With the right key the same installation takes the good archive.
    result = empty_installation.manage("restore", str(archive))
    assert result.returncode == 0, result.stderr


def test_restore_refuses_an_installation_in_use(storage_root, tmp_path):
    make_data(letter=False)
    archive = tmp_path / "a.pristan-backup"
    backup_to(archive)
    with pytest.raises(CommandError, match="already holds data"):
        call_command("restore", str(archive))


def test_backup_to_standard_output_can_be_piped(storage_root, empty_installation, tmp_path):
    make_data(letter=False)
    env = empty_installation.env(DATABASE_URL=_source_database_url())
    env["PRISTAN_PRIVATE_MEDIA_ROOT"] = str(storage_root)
    dumped = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "backup", "-"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        timeout=300,
    )
    assert dumped.returncode == 0, dumped.stderr
    assert b"Backup written to standard output" in dumped.stderr
    assert dumped.stdout.startswith(stream.MAGIC)

    def restore_from_stdin(*options):
        return subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), "restore", *options, "-"],
            input=dumped.stdout,
            env=empty_installation.env(),
            cwd=BASE_DIR,
            capture_output=True,
            timeout=300,
        )

    # The installation was migrated first (as docker compose's `migrate` service does): no
    # data in use yet, so it counts as empty, and its tables are replaced.
    migrated = empty_installation.manage("migrate", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    restored = restore_from_stdin()
    assert restored.returncode == 0, restored.stderr
    assert len(empty_installation.files()) == 1
    source_rows = table_rows(connection.vendor, str(connection.settings_dict["NAME"]))
    assert table_rows(connection.vendor, empty_installation.database) == source_rows

    again = restore_from_stdin()
    assert again.returncode == 1 and b"already holds data" in again.stderr
    replaced = restore_from_stdin("--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert table_rows(connection.vendor, empty_installation.database) == source_rows
    verified = empty_installation.manage("verify_access_log")
    assert verified.returncode == 0 and "access log OK" in verified.stdout


def _source_database_url() -> str:
    from tests.integration.helpers import database_url_for_worker

    return database_url_for_worker()


def test_backup_warns_about_files_missing_from_the_storage(storage_root, tmp_path):
    data = make_data(letter=False)
    (storage_root / data["document"].file.name).unlink()
    stderr = io.StringIO()
    call_command("backup", str(tmp_path / "a.pristan-backup"), stderr=stderr)
    assert "1 files named in the database are not in the storage" in stderr.getvalue()
    assert "0 files" in stderr.getvalue()


def test_files_in_an_s3_bucket_are_backed_up_and_restored_as_stored(
    settings, empty_installation, tmp_path
):
    """Files go through STORAGES: from one bucket into the archive, and into another bucket of
    the restored installation, the stored ciphertext unchanged (it is bound to the file's name,
    not to where it lives)."""
    from tests import s3

    with s3.s3_server() as endpoint:
        source, target = s3.create_bucket(endpoint), s3.create_bucket(endpoint)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "core.storage_s3.EncryptedS3Storage",
                "OPTIONS": s3.storage_options(endpoint, source),
            },
        }
        data = make_data(letter=False)
        archive = tmp_path / "a.pristan-backup"
        backup_to(archive)
        env = s3.storage_env(endpoint, target)
        result = empty_installation.manage("restore", str(archive), **env)
        assert result.returncode == 0, result.stderr
        assert s3.raw_objects(endpoint, target) == s3.raw_objects(endpoint, source)
        assert data["document"].file.name in s3.raw_objects(endpoint, target)
        opened = empty_installation.manage(
            "shell",
            "-c",
            "from casework.models import Document\n"
            "d = Document.objects.get()\n"
            "print(d.file.open('rb').read() == bytes.fromhex('" + PDF.hex() + "'))",
            **env,
        )
        assert opened.stdout.strip().splitlines()[-1] == "True", opened.stderr


@pytest.mark.django_db(transaction=False)
def test_a_key_file_may_hold_the_line_generate_keys_prints(tmp_path):
    script = subprocess.run(
        [sys.executable, str(BASE_DIR / "scripts" / "generate-keys.py"), "--backup-key"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert script.startswith("BACKUP_KEY=") and script.count("\n") == 1
    path = tmp_path / "backup.key"
    path.write_text(script)
    (key,) = stream.configured_keys(str(path))
    assert base64.b64encode(key).decode() == script.strip().removeprefix("BACKUP_KEY=")
    path.write_text(f"{script.strip()},{BACKUP_KEY}\n")
    assert len(stream.configured_keys(str(path))) == 2
