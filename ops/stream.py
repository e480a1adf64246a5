"""The backup archive's encryption: keys, and a stream sealed chunk by chunk with AES-256-GCM
(see ops.backup for the format)."""

import base64
import binascii
import hashlib
import io
import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

MAGIC = b"PRISTAN-BACKUP\x00\x01"  # 16 bytes: name and stream version
CHUNK_SIZE = 1 << 20  # plaintext bytes per sealed chunk
_TAG = 16
_HEADER = struct.Struct(">16s8s32sI")  # magic, key id, salt, chunk size


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


class HashingReader:
    def __init__(self, f):
        self.f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data
