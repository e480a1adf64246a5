"""File storage that keeps client files encrypted at rest (see core.crypto)."""

import os

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from core import crypto


class EncryptedStorageMixin:
    """Encrypts a storage's files (case documents, letter PDFs), each bound to its name, wherever
    the bytes live: mixed into a local folder's storage and into an S3-compatible bucket's.

    `read_raw` and `write_raw` move the stored (encrypted) bytes as they are, for key rotation
    and backups. The bucket's class is core.storage_s3.EncryptedS3Storage, in a module of its
    own so that only an installation using it imports boto3. Nothing is ever served by URL:
    downloads go through the access-checked views, which read files with `open()`."""

    def _save(self, name, content):
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

    def _open(self, name, mode="rb"):
        return ContentFile(crypto.decrypt_file(self.read_raw(name), name=name), name=name)

    def read_raw(self, name) -> bytes:
        with super()._open(name, "rb") as f:
            return f.read()

    def write_raw(self, name, blob: bytes) -> None:
        """Replace a stored file's bytes in place, all at once."""
        raise NotImplementedError


class EncryptedFileSystemStorage(EncryptedStorageMixin, FileSystemStorage):
    """Encrypted files in a local folder (PRISTAN_PRIVATE_MEDIA_ROOT)."""

    def write_raw(self, name, blob: bytes) -> None:
        path = self.path(name)
        tmp = f"{path}.rotating"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
