"""File storage that keeps client files encrypted at rest (see core.crypto)."""

import os
from typing import IO, TYPE_CHECKING, Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage

from core import crypto

if TYPE_CHECKING:

    class _Storage(Storage):
        """The two hooks every storage implements ("Writing a custom storage system" in
        Django's documentation), which django-stubs leaves out of `Storage`."""

        def _save(self, name: str, content: IO[Any]) -> str: ...
        def _open(self, name: str, mode: str = "rb") -> File[Any]: ...

else:
    _Storage = object


class EncryptedStorageMixin(_Storage):
    """Encrypts a storage's files (case documents, letter PDFs), each bound to its name, wherever
    the bytes live: mixed into a local folder's storage and into an S3-compatible bucket's.

    `read_raw` and `write_raw` move the stored (encrypted) bytes as they are, for key rotation
    and backups. The bucket's class is core.storage_s3.EncryptedS3Storage, in a module of its
    own so that only an installation using it imports boto3. Nothing is ever served by URL:
    downloads go through the access-checked views, which read files with `open()`."""

    def _save(self, name: str, content: IO[Any]) -> str:
        content.seek(0)
        data = content.read()
        if isinstance(data, str):
            data = data.encode()
        stored = super()._save(name, ContentFile(crypto.encrypt_file(data, name=name)))
        if stored != name:
            # The name was taken between choosing it and writing (a concurrent save): the
            # storage wrote under another name, and the ciphertext must be bound to that one.
            self.write_raw(stored, crypto.encrypt_file(data, name=stored))
        return stored

    def _open(self, name: str, mode: str = "rb") -> "File[bytes]":
        return ContentFile(crypto.decrypt_file(self.read_raw(name), name=name), name=name)

    def read_raw(self, name: str) -> bytes:
        with super()._open(name, "rb") as f:
            data: bytes = f.read()
        return data

    def write_raw(self, name: str, blob: bytes) -> None:
        """Replace a stored file's bytes in place, all at once."""
        raise NotImplementedError


class EncryptedFileSystemStorage(EncryptedStorageMixin, FileSystemStorage):
    """Encrypted files in a local folder (PRISTAN_PRIVATE_MEDIA_ROOT)."""

    def write_raw(self, name: str, blob: bytes) -> None:
        path = self.path(name)
        tmp = f"{path}.rotating"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
