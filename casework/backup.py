"""Backups: one encrypted archive of the database and every stored file, and its restore.

The archive is a gzip-compressed tar stream, encrypted as it is written (`EncryptingWriter`):

    database.sql | database.sqlite3   pg_dump's plain SQL (--no-owner), or an SQLite copy made
                                      with SQLite's online backup API (consistent in WAL mode)
    files/<name>                      every file of the default storage, its stored bytes as
                                      they are (already encrypted with the field keys)
    manifest.json                     format, created_at, engine, applied migrations, and the
                                      size and SHA-256 of the database and of every file

Nothing is decrypted on the way: the database keeps its ciphertext and the files theirs, so the
archive and BACKUP_KEY together still reveal no client data without FIELD_ENCRYPTION_KEYS.

Encryption (`BACKUP_KEY`, separate from the field keys): a per-archive key is derived with
HKDF-SHA256 from the backup key and a random salt in the header; the stream is cut into chunks,
each sealed with AES-256-GCM under a nonce that is the chunk's counter, with the header and a
final-chunk flag as associated data. Reordered, altered, truncated or extended archives and
wrong keys fail to decrypt. The header names the key's id, so that several keys (newest first)
can be configured for rotation.

Restore reads and checks the whole archive into a private temporary folder first, then writes
the files, then loads the database in one transaction (removing the files it wrote if that
fails): a damaged archive restores nothing.
"""

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.utils import validate_file_name
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from casework.fields import EncryptedStorageMixin

FORMAT = 1
MAGIC = b"PRISTAN-BACKUP\x00\x01"  # 16 bytes: name and stream version
CHUNK_SIZE = 1 << 20  # plaintext bytes per sealed chunk
_TAG = 16
_HEADER = struct.Struct(">16s8s32sI")  # magic, key id, salt, chunk size
DATABASE_MEMBERS = {"postgresql": "database.sql", "sqlite": "database.sqlite3"}
ENGINE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
MANIFEST = "manifest.json"
FILES_PREFIX = "files/"

Progress = Callable[[str], None]


class BackupError(Exception):
    """Anything that stops a backup or a restore; the message is meant for the operator."""


# Keys -------------------------------------------------------------------------------------


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"pristan-backup-key-id" + key).hexdigest()[:8]


def parse_keys(raw: list[str] | str) -> list[bytes]:
    """BACKUP_KEY: base64 keys of 32 bytes, comma- or line-separated, newest first."""
    items = re.split(r"[,\s]+", raw) if isinstance(raw, str) else raw
    keys = []
    # A key file may hold the line scripts/generate-keys.py prints (BACKUP_KEY=…).
    for item in (i.strip().removeprefix("BACKUP_KEY=") for i in items):
        if not item:
            continue
        try:
            key = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise BackupError("BACKUP_KEY: a key is not valid base64.") from None
        if len(key) != 32:
            raise BackupError("BACKUP_KEY: every key must be 32 bytes (base64 of 32 bytes).")
        keys.append(key)
    if not keys:
        raise BackupError(
            "No backup key: set BACKUP_KEY (python3 scripts/generate-keys.py prints one) "
            "or give --key-file."
        )
    return keys


def configured_keys(key_file: str | None = None) -> list[bytes]:
    if key_file:
        try:
            return parse_keys(Path(key_file).read_text())
        except OSError as error:
            raise BackupError(f"Cannot read the key file {key_file}: {error.strerror}.") from None
    return parse_keys(getattr(settings, "BACKUP_KEY", []))


def _archive_aead(key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"pristan-backup-v1")
    return AESGCM(hkdf.derive(key))


def _nonce(counter: int) -> bytes:
    return counter.to_bytes(12, "big")


# The encrypted stream ---------------------------------------------------------------------


class EncryptingWriter(io.RawIOBase):
    """A write-only stream that seals what is written to it, chunk by chunk, into `out`.
    `close()` seals the last chunk; without it the archive is incomplete (and will not
    decrypt)."""

    def __init__(self, out: BinaryIO, key: bytes, *, chunk_size: int = CHUNK_SIZE):
        self.out = out
        salt = os.urandom(32)
        self.header = _HEADER.pack(MAGIC, key_id(key).encode(), salt, chunk_size)
        self.aead = _archive_aead(key, salt)
        self.chunk_size = chunk_size
        self.counter = 0
        self.buffer = bytearray()
        self.bytes_out = len(self.header)
        out.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        # A full chunk is sealed only once more data follows, so that the final chunk (which
        # may be full) is always the one sealed by close().
        while len(self.buffer) > self.chunk_size:
            self._seal(bytes(self.buffer[: self.chunk_size]), final=False)
            del self.buffer[: self.chunk_size]
        return len(data)

    def _seal(self, chunk: bytes, *, final: bool) -> None:
        aad = self.header + (b"\x01" if final else b"\x00")
        sealed = self.aead.encrypt(_nonce(self.counter), chunk, aad)
        self.out.write(sealed)
        self.bytes_out += len(sealed)
        self.counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self.buffer), final=True)
            self.buffer.clear()
            self.out.flush()
        super().close()


class DecryptingReader(io.RawIOBase):
    """Reads an archive written by EncryptingWriter, checking every chunk; raises BackupError
    at the first one that does not authenticate. `finished` is true once the final chunk has
    been read and checked: only then is the archive known to be complete."""

    def __init__(self, source: BinaryIO, keys: list[bytes]):
        self.source = source
        self.header = self._read_exact(_HEADER.size)
        if len(self.header) < _HEADER.size:
            raise BackupError("This is not a Pristan backup archive (it is empty or too short).")
        magic, kid, salt, chunk_size = _HEADER.unpack(self.header)
        if magic != MAGIC:
            raise BackupError("This is not a Pristan backup archive (or its header is damaged).")
        if not 1024 <= chunk_size <= 64 << 20:
            raise BackupError("The archive's header is damaged.")
        wanted = kid.decode("ascii", "replace")
        matching = [k for k in keys if key_id(k) == wanted]
        if not matching:
            known = ", ".join(key_id(k) for k in keys)
            raise BackupError(
                f"Wrong backup key: this archive was made with the key whose id is {wanted}; "
                f"the configured BACKUP_KEY has {known}. Nothing was restored."
            )
        self.key_id = wanted
        self.aead = _archive_aead(matching[0], salt)
        self.sealed_size = chunk_size + _TAG
        self.counter = 0
        self.finished = False
        self.pending = memoryview(b"")
        self.next_sealed = self._read_exact(self.sealed_size)

    def _read_exact(self, n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            part = self.source.read(n - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        sealed = self.next_sealed
        following = self._read_exact(self.sealed_size) if len(sealed) == self.sealed_size else b""
        final = not following
        aad = self.header + (b"\x01" if final else b"\x00")
        try:
            chunk = self.aead.decrypt(_nonce(self.counter), sealed, aad)
        except InvalidTag:
            raise BackupError(
                "The archive does not decrypt: it is truncated, damaged or was altered "
                f"(at byte {_HEADER.size + self.counter * self.sealed_size}). Nothing was restored."
            ) from None
        self.counter += 1
        self.next_sealed = following
        self.finished = final
        return chunk

    def readinto(self, buffer) -> int:
        while not self.pending and not self.finished:
            self.pending = memoryview(self._next_chunk())
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def drain(self) -> None:
        """Read (and check) to the end: the tar reader stops before the padding and trailer."""
        while self.read(CHUNK_SIZE):
            pass
        if not self.finished:
            raise BackupError("The archive is truncated. Nothing was restored.")


class _HashingReader:
    def __init__(self, f):
        self.f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


# Database ---------------------------------------------------------------------------------


def _pg_env(db: dict) -> dict:
    from django.db.backends.postgresql.client import DatabaseClient

    _args, env = DatabaseClient.settings_to_cmd_args_env(db, [])
    env = {**os.environ, **(env or {})}
    for var, value in [
        ("PGHOST", db.get("HOST")),
        ("PGPORT", db.get("PORT")),
        ("PGUSER", db.get("USER")),
        ("PGDATABASE", db.get("NAME")),
    ]:
        if value:
            env[var] = str(value)
    return env


def _pg_tool(tool: str, server_major: int, *, exact: bool) -> str:
    """The PostgreSQL client program of the server's major version: Debian keeps each version
    under /usr/lib/postgresql/<major>/bin; otherwise the one on PATH, if it matches."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{tool}")]
    on_path = shutil.which(tool)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if not candidate.exists():
            continue
        out = subprocess.run(  # noqa: S603  (a PostgreSQL client program, fixed arguments)
            [str(candidate), "--version"], capture_output=True, text=True
        )
        found = re.search(r"\)\s*(\d+)", out.stdout)
        if found and (not exact or int(found.group(1)) == server_major):
            return str(candidate)
    raise BackupError(
        f"No {tool} of PostgreSQL {server_major} (the server's version) was found: install the "
        f"PostgreSQL {server_major} client (Debian: postgresql-client-{server_major})."
    )


def _dump_postgresql(target: Path) -> dict:
    connection.ensure_connection()
    major = connection.pg_version // 10000
    pg_dump = _pg_tool("pg_dump", major, exact=True)
    db = connection.settings_dict
    result = subprocess.run(  # noqa: S603  (pg_dump, arguments from the settings)
        [pg_dump, "--format=plain", "--no-owner", "--no-privileges", "--no-comments",
         f"--file={target}", "--dbname", db["NAME"]],
        env=_pg_env(db), capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[-2000:]}")
    return {"server_version": connection.pg_version, "tool": pg_dump}


def _dump_sqlite(target: Path) -> dict:
    path = Path(connection.settings_dict["NAME"]).resolve()
    source = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=20)
    copy = sqlite3.connect(target)
    try:
        # One step: a consistent snapshot, while the application goes on writing (WAL).
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    return {"server_version": sqlite3.sqlite_version}


def _applied_migrations() -> list[str]:
    return sorted(
        f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()
    )


# Files ------------------------------------------------------------------------------------


def _referenced_files() -> set[str]:
    """The names of the stored files the database refers to (documents, letter PDFs). Read just
    after the database dump, before the files are listed: a file is stored before its row
    names it, so every name read here was in the storage before the listing."""
    names: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                values = model._base_manager.exclude(**{field.attname: ""})
                names.update(values.values_list(field.attname, flat=True).iterator())
    names.discard(None)
    return names


def _storage() -> Storage:
    return storages["default"]


def walk_storage(storage: Storage, top: str = "") -> Iterator[str]:
    try:
        directories, files = storage.listdir(top)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{top}/{name}" if top else name
    for directory in sorted(directories):
        yield from walk_storage(storage, f"{top}/{directory}" if top else directory)


def read_stored(storage: Storage, name: str) -> bytes:
    """A file's bytes as stored: ciphertext for Pristan's encrypted storages."""
    if isinstance(storage, EncryptedStorageMixin):
        return storage.read_raw(name)
    with storage.open(name, "rb") as f:
        return f.read()


def write_stored(storage: Storage, name: str, blob: bytes) -> None:
    """Store bytes exactly as given under `name` (the backend's own `_save`, without the
    encryption of EncryptedStorageMixin: the bytes are already ciphertext bound to the name)."""
    if isinstance(storage, EncryptedStorageMixin):
        save = super(EncryptedStorageMixin, storage)._save
    else:
        save = storage._save
    stored = save(name, ContentFile(blob))
    if stored != name:
        storage.delete(stored)
        raise BackupError(f"The file {name} already exists in the storage.")


# Backup -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Summary:
    engine: str = ""
    database_bytes: int = 0
    files: int = 0
    file_bytes: int = 0
    archive_bytes: int = 0
    key_id: str = ""
    created_at: str = ""
    migrations_to_apply: list[str] = dataclasses.field(default_factory=list)
    access_log: str = ""
    missing_files: int = 0
    field_keys_ok: bool | None = None


def _tarinfo(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o600
    return info


def write_backup(out: BinaryIO, *, key: bytes, progress: Progress = lambda _: None) -> Summary:
    """Write the archive to `out` (a binary stream); returns what went into it."""
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    now = timezone.now()
    summary = Summary(engine=vendor, key_id=key_id(key), created_at=now.isoformat())
    storage = _storage()
    with tempfile.TemporaryDirectory(prefix="pristan-backup-") as tmp:
        member = DATABASE_MEMBERS[vendor]
        dump = Path(tmp) / member
        progress(f"Dumping the {ENGINE_NAMES[vendor]} database…")
        database = _dump_postgresql(dump) if vendor == "postgresql" else _dump_sqlite(dump)
        migrations = _applied_migrations()
        referenced = _referenced_files()
        writer = EncryptingWriter(out, key)
        with tarfile.open(fileobj=writer, mode="w|gz", compresslevel=6) as tar:
            size = dump.stat().st_size
            with dump.open("rb") as f:
                hashing = _HashingReader(f)
                tar.addfile(_tarinfo(member, size, now.timestamp()), hashing)
            summary.database_bytes = size
            database.pop("tool", None)
            database.update(member=member, size=size, sha256=hashing.sha256.hexdigest())
            progress(f"Database: {_human(size)}. Copying the stored files…")
            files = []
            for name in walk_storage(storage):
                try:
                    blob = read_stored(storage, name)
                except FileNotFoundError:  # deleted since it was listed (erasure)
                    continue
                tar.addfile(
                    _tarinfo(FILES_PREFIX + name, len(blob), now.timestamp()), io.BytesIO(blob)
                )
                files.append(
                    {"name": name, "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
                )
                summary.files += 1
                summary.file_bytes += len(blob)
                if summary.files % 1000 == 0:
                    progress(f"  {summary.files} files, {_human(summary.file_bytes)}")
            missing = referenced.difference(f["name"] for f in files)
            if missing:
                summary.missing_files = len(missing)
                progress(
                    f"Warning: {len(missing)} files named in the database are not in the storage "
                    "(the backup holds what there is)."
                )
            manifest = {
                "format": FORMAT,
                "created_at": summary.created_at,
                "engine": vendor,
                "database": database,
                "migrations": migrations,
                "files": files,
            }
            data = json.dumps(manifest, indent=1).encode()
            tar.addfile(_tarinfo(MANIFEST, len(data), now.timestamp()), io.BytesIO(data))
        writer.close()
    summary.archive_bytes = writer.bytes_out
    return summary


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# Restore ----------------------------------------------------------------------------------

# Rows in any of these mean the installation is in use (a freshly migrated one only has the
# reference data that migrations load: grounds, authorities, letter templates).
_IN_USE_TABLES = [
    "accounts_user",
    "casework_organisation",
    "casework_client",
    "casework_case",
    "casework_accessevent",
    "letters_letter",
]


def database_state() -> str:
    """'blank' (no tables), 'migrated' (tables but no data in use) or 'in use'."""
    tables = set(connection.introspection.table_names())
    if not tables:
        return "blank"
    with connection.cursor() as cursor:
        for table in _IN_USE_TABLES:
            if table in tables:
                quoted = connection.ops.quote_name(table)
                cursor.execute(f"SELECT 1 FROM {quoted} LIMIT 1")  # noqa: S608  (our table names)
                if cursor.fetchone():
                    return "in use"
    return "migrated"


def storage_is_empty(storage: Storage) -> bool:
    return next(walk_storage(storage), None) is None


@dataclasses.dataclass
class _Extracted:
    folder: Path
    database: Path | None = None
    database_member: str = ""
    database_sha256: str = ""
    files: dict = dataclasses.field(default_factory=dict)  # name -> (path, size, sha256)
    manifest: dict = dataclasses.field(default_factory=dict)


def _copy_member(source, target: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as f:
        while block := source.read(1 << 20):
            digest.update(block)
            size += len(block)
            f.write(block)
    return size, digest.hexdigest()


def _extract(
    source: BinaryIO, keys: list[bytes], folder: Path, vendor: str, progress: Progress
) -> _Extracted:
    reader = DecryptingReader(source, keys)
    progress(f"Archive made with backup key {reader.key_id}; reading and checking it…")
    found = _Extracted(folder=folder)
    (folder / "files").mkdir()
    try:
        with tarfile.open(fileobj=reader, mode="r|gz") as tar:
            for info in tar:
                if not info.isfile():
                    raise BackupError(f"Unexpected entry {info.name!r} in the archive.")
                stream = tar.extractfile(info)
                if info.name in DATABASE_MEMBERS.values():
                    engine = next(e for e, m in DATABASE_MEMBERS.items() if m == info.name)
                    if engine != vendor:
                        raise BackupError(
                            f"This archive holds a {ENGINE_NAMES[engine]} database, but this "
                            f"installation uses {ENGINE_NAMES.get(vendor, vendor)} (DATABASE_URL). "
                            "Restore it into the same kind of database. Nothing was restored."
                        )
                    found.database = folder / info.name
                    found.database_member = info.name
                    _size, found.database_sha256 = _copy_member(stream, found.database)
                elif info.name.startswith(FILES_PREFIX):
                    name = info.name[len(FILES_PREFIX) :]
                    try:
                        validate_file_name(name, allow_relative_path=True)
                    except Exception:
                        raise BackupError(f"Unsafe file name {name!r} in the archive.") from None
                    path = folder / "files" / str(len(found.files))
                    found.files[name] = (path, *_copy_member(stream, path))
                elif info.name == MANIFEST and info.size < 512 << 20:
                    found.manifest = json.loads(stream.read())
                else:
                    raise BackupError(f"Unexpected entry {info.name!r} in the archive.")
        reader.drain()
    except (tarfile.TarError, EOFError, zlib.error, ValueError) as error:
        # Only reached if what was read authenticated, yet is not what `write_backup` makes
        # (JSONDecodeError and UnicodeDecodeError are ValueErrors).
        raise BackupError(
            f"The archive's content is damaged ({error}). Nothing was restored."
        ) from None
    except OSError as error:
        raise BackupError(
            f"Cannot write the archive's content to the temporary folder {folder} "
            f"({error.strerror}): free space there or set TMPDIR. Nothing was restored."
        ) from None
    try:
        _check_manifest(found)
    except (KeyError, TypeError, AttributeError):
        raise BackupError("The archive's manifest is damaged. Nothing was restored.") from None
    return found


def _check_manifest(found: _Extracted) -> None:
    manifest = found.manifest
    if not manifest:
        raise BackupError("The archive has no manifest. Nothing was restored.")
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"This archive has format {manifest.get('format')}; this version of Pristan reads "
            f"format {FORMAT}. Nothing was restored."
        )
    database = manifest["database"]
    if found.database is None or database["member"] != found.database_member:
        raise BackupError("The archive has no database. Nothing was restored.")
    if database["sha256"] != found.database_sha256:
        raise BackupError(
            "The database in the archive does not match its manifest. Nothing was restored."
        )
    listed = {f["name"]: (f["size"], f["sha256"]) for f in manifest["files"]}
    if set(listed) != set(found.files):
        raise BackupError("The archive's files do not match its manifest. Nothing was restored.")
    for name, (_path, size, sha256) in found.files.items():
        if listed[name] != (size, sha256):
            raise BackupError(
                f"The file {name} does not match its SHA-256 in the manifest. Nothing was restored."
            )
    known = {
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown:
        raise BackupError(
            "This archive comes from a newer version of Pristan (unknown migrations: "
            f"{', '.join(unknown[:5])}). Install that version first. Nothing was restored."
        )


# The access log's append-only triggers (casework/migrations/0003) refuse DELETE and TRUNCATE,
# never DROP TABLE: a migrated but unused database (or one being replaced) is cleared by
# dropping everything in the schema, in the same transaction as the load.
_PG_CLEAR = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', current_schema(), r.tablename);
    END LOOP;
    FOR r IN SELECT sequence_name FROM information_schema.sequences
             WHERE sequence_schema = current_schema() LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', current_schema(), r.sequence_name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
             WHERE p.pronamespace = current_schema()::regnamespace
               AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || r.f || ' CASCADE';
    END LOOP;
END $$;
"""


def _load_postgresql(dump: Path, *, clear: bool, folder: Path) -> None:
    connection.ensure_connection()
    major = connection.pg_version // 10000
    db = connection.settings_dict
    connection.close()
    try:
        psql = _pg_tool("psql", major, exact=True)
    except BackupError:
        psql = _pg_tool("psql", major, exact=False)
    command = [psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
               "--dbname", db["NAME"]]  # fmt: skip
    if clear:
        clear_sql = folder / "clear.sql"
        clear_sql.write_text(_PG_CLEAR)
        command += ["--file", str(clear_sql)]
    command += ["--file", str(dump)]
    result = subprocess.run(command, env=_pg_env(db), capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(
            "Loading the database failed; it was left as it was. psql said: "
            + result.stderr.strip()[-2000:]
        )


def _load_sqlite(dump: Path) -> None:
    source = sqlite3.connect(dump)
    try:
        if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(
                "The SQLite database in the archive is damaged. Nothing was restored."
            )
        connection.ensure_connection()
        # Replaces the whole target database in one transaction of the target (SQLite's
        # backup API), through the application's own connection (WAL mode).
        source.backup(connection.connection)
    except sqlite3.Error as error:
        raise BackupError(
            f"Loading the database failed; it was left as it was ({error})."
        ) from None
    finally:
        source.close()
        connection.close()


def restore_backup(
    source: BinaryIO,
    *,
    keys: list[bytes],
    replace: bool = False,
    progress: Progress = lambda _: None,
) -> Summary:
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(f"Restoring supports PostgreSQL and SQLite, not {vendor}.")
    storage = _storage()
    state = database_state()
    if not replace:
        if state == "in use":
            raise BackupError(
                "The database already holds data (users, cases or an access log). Restore into "
                "an empty database, or add --replace to replace everything in it. Nothing was "
                "restored."
            )
        if not storage_is_empty(storage):
            raise BackupError(
                "The file storage already holds files. Restore into an empty storage, or add "
                "--replace to overwrite files of the same name. Nothing was restored."
            )
    summary = Summary(engine=vendor)
    with tempfile.TemporaryDirectory(prefix="pristan-restore-") as tmp:
        found = _extract(source, keys, Path(tmp), vendor, progress)
        manifest = found.manifest
        summary.created_at = manifest["created_at"]
        summary.database_bytes = manifest["database"]["size"]
        progress(
            f"Archive of {manifest['created_at']} checked: the database and {len(found.files)} "
            "files match the manifest. Writing the files…"
        )
        written = []
        try:
            for name, (path, size, _sha) in found.files.items():
                if replace and storage.exists(name):
                    storage.delete(name)
                write_stored(storage, name, path.read_bytes())
                written.append(name)
                summary.files += 1
                summary.file_bytes += size
            progress(f"Files: {summary.files}, {_human(summary.file_bytes)}. Loading the database…")
            if vendor == "postgresql":
                _load_postgresql(found.database, clear=state != "blank", folder=Path(tmp))
            else:
                _load_sqlite(found.database)
        except BaseException:
            for name in written:
                with contextlib.suppress(Exception):
                    storage.delete(name)
            raise
    summary.migrations_to_apply = _pending_migrations(manifest["migrations"])
    summary.access_log, summary.field_keys_ok = _check_restored()
    return summary


def _pending_migrations(applied: list[str]) -> list[str]:
    known = {
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    return sorted(known - set(applied))


def _check_restored() -> tuple[str, bool | None]:
    """The access log's chain, and whether the configured field keys read the restored data."""
    from casework import audit, crypto
    from casework.models import ClientName

    try:
        checked, broken = audit.verify_chain()
        chain = (
            f"{checked} entries, chain OK" if broken is None else f"chain BROKEN at entry {broken}"
        )
    except Exception as error:  # an older schema: verify_access_log after migrating
        chain = f"not checked ({error.__class__.__name__})"
    try:
        name = ClientName.objects.order_by("pk").first()
    except Exception:
        return chain, None
    if name is None:
        return chain, None
    try:
        name.family_name  # noqa: B018  (decrypts)
    except crypto.DecryptionError:
        return chain, False
    return chain, True
