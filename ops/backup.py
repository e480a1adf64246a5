"""Backups: one encrypted archive of the database and every stored file, and its restore.

The archive is a gzip-compressed tar stream, encrypted as it is written (`EncryptingWriter`):

    database.sql | database.sqlite3   pg_dump's plain SQL (--no-owner), or an SQLite copy made
                                      with SQLite's online backup API (consistent in WAL mode)
    files/<name>                      every file of the default storage, its stored bytes as
                                      they are (already encrypted with the field keys)
    manifest.json                     format, created_at, engine, applied migrations, the
                                      size and SHA-256 of the database and of every file, and
                                      the access log's anchors (casework.audit)

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

The encrypted stream is ops.stream, the database's dump and load ops.database.
"""

import contextlib
import dataclasses
import hashlib
import io
import json
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.utils import validate_file_name
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from casework import audit
from casework.models import ClientName
from core import crypto
from core.storage import EncryptedStorageMixin
from ops.database import (
    DATABASE_MEMBERS,
    ENGINE_NAMES,
    applied_migrations,
    database_state,
    dump_postgresql,
    dump_sqlite,
    load_postgresql,
    load_sqlite,
    pending_migrations,
)
from ops.stream import BackupError, DecryptingReader, EncryptingWriter, HashingReader, key_id

FORMAT = 1
MANIFEST = "manifest.json"
FILES_PREFIX = "files/"


Progress = Callable[[str], None]


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
        # Every storage implements `_save` (Django's "Writing a custom storage system");
        # django-stubs leaves it out of Storage.
        save = storage._save  # type: ignore[attr-defined]
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
    access_log_anchors: list[str] = dataclasses.field(default_factory=list)
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
        # Taken before the dump, so that the dump holds every anchored entry: verified after a
        # restore, and kept with the archive, a copy of the log's heads away from the server.
        audit.seal()
        summary.access_log_anchors = [str(anchor) for anchor in audit.heads()]
        progress(f"Dumping the {ENGINE_NAMES[vendor]} database…")
        database = dump_postgresql(dump) if vendor == "postgresql" else dump_sqlite(dump)
        migrations = applied_migrations()
        referenced = _referenced_files()
        writer = EncryptingWriter(out, key)
        with tarfile.open(fileobj=writer, mode="w|gz", compresslevel=6) as tar:
            size = dump.stat().st_size
            with dump.open("rb") as f:
                hashing = HashingReader(f)
                tar.addfile(_tarinfo(member, size, now.timestamp()), hashing)
            summary.database_bytes = size
            database.pop("tool", None)
            database.update(member=member, size=size, sha256=hashing.sha256.hexdigest())
            progress(f"Database: {human_size(size)}. Copying the stored files…")
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
                    progress(f"  {summary.files} files, {human_size(summary.file_bytes)}")
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
                "access_log_anchors": summary.access_log_anchors,
            }
            data = json.dumps(manifest, indent=1).encode()
            tar.addfile(_tarinfo(MANIFEST, len(data), now.timestamp()), io.BytesIO(data))
        writer.close()
    summary.archive_bytes = writer.bytes_out
    return summary


def human_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# Restore ----------------------------------------------------------------------------------


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
                stream = tar.extractfile(info) if info.isfile() else None
                if stream is None:  # a regular file always has a stream
                    raise BackupError(f"Unexpected entry {info.name!r} in the archive.")
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
        database = found.database
        if database is None:  # _extract has refused such an archive already
            raise BackupError("The archive has no database. Nothing was restored.")
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
            progress(
                f"Files: {summary.files}, {human_size(summary.file_bytes)}. Loading the database…"
            )
            if vendor == "postgresql":
                load_postgresql(database, clear=state != "blank", folder=Path(tmp))
            else:
                load_sqlite(database)
        except BaseException:
            for name in written:
                with contextlib.suppress(Exception):
                    storage.delete(name)
            raise
    summary.migrations_to_apply = pending_migrations(manifest["migrations"])
    summary.access_log_anchors = manifest.get("access_log_anchors", [])
    summary.access_log, summary.field_keys_ok = _check_restored(summary.access_log_anchors)
    return summary


def _check_restored(anchors: list[str]) -> tuple[str, bool | None]:
    """The access log (its chains, and the anchors the archive was made with), and whether the
    configured field keys read the restored data."""
    try:
        report = audit.verify_chain(anchors=audit.parse_anchors(" ".join(anchors)))
        chain = (
            f"{report.checked + report.legacy} entries, chain OK"
            if report.ok
            else "chain BROKEN: " + " ".join(report.problems)
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
