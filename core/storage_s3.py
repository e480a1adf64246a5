"""Encrypted files in an S3-compatible bucket (PRISTAN_STORAGE=s3, see config/settings.py)."""

from typing import Any

from botocore.config import Config
from django.core.files.base import ContentFile, File
from storages.backends.s3 import S3Storage

from core.storage import EncryptedStorageMixin


# django-storages has no type information: S3Storage is Any to mypy.
class EncryptedS3Storage(EncryptedStorageMixin, S3Storage):  # type: ignore[misc]
    """Encrypted files in an S3-compatible bucket (PRISTAN_STORAGE=s3), so that web and worker
    processes on several hosts share them. The bucket only ever holds ciphertext, stored as
    private objects of type application/octet-stream; a name already taken gets a suffix
    instead of being overwritten; there are no URLs to the objects, signed or not."""

    def __init__(self, **options: Any) -> None:
        options = {"default_acl": "private", "file_overwrite": False, **options}
        if options.get("client_config") is None:
            # botocore waits 60 s to connect and retries 4 times: a store that does not answer
            # would hold a download or a worker for minutes.
            options["client_config"] = Config(
                s3={"addressing_style": options.get("addressing_style")},
                signature_version=options.get("signature_version"),
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            )
        super().__init__(**options)

    def _get_write_parameters(
        self, name: str, content: "File[bytes] | None" = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = super()._get_write_parameters(name, content)
        params["ContentType"] = "application/octet-stream"  # not what the name suggests
        params.pop("ContentEncoding", None)
        return params

    def write_raw(self, name: str, blob: bytes) -> None:
        # One PUT replaces an object whole: readers see the old bytes or the new, never a mix.
        S3Storage._save(self, name, ContentFile(blob))

    def url(
        self,
        name: str | None,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        # No link to the bucket, signed or not: files are served only by access-checked views.
        # Empty rather than an error, so that forms showing a stored file (the organisation's
        # logo in the admin) still work; they just show no link.
        return ""
