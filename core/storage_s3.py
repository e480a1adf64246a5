"""Encrypted files in an S3-compatible bucket (PRISTAN_STORAGE=s3, see config/settings.py)."""

from botocore.config import Config
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from core.storage import EncryptedStorageMixin


class EncryptedS3Storage(EncryptedStorageMixin, S3Storage):
    """Encrypted files in an S3-compatible bucket (PRISTAN_STORAGE=s3), so that web and worker
    processes on several hosts share them. The bucket only ever holds ciphertext, stored as
    private objects of type application/octet-stream; a name already taken gets a suffix
    instead of being overwritten; there are no URLs to the objects, signed or not."""

    def __init__(self, **options):
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

    def _get_write_parameters(self, name, content=None):
        params = super()._get_write_parameters(name, content)
        params["ContentType"] = "application/octet-stream"  # not what the name suggests
        params.pop("ContentEncoding", None)
        return params

    def write_raw(self, name, blob: bytes) -> None:
        # One PUT replaces an object whole: readers see the old bytes or the new, never a mix.
        S3Storage._save(self, name, ContentFile(blob))

    def url(self, name, parameters=None, expire=None, http_method=None):
        # No link to the bucket, signed or not: files are served only by access-checked views.
        # Empty rather than an error, so that forms showing a stored file (the organisation's
        # logo in the admin) still work; they just show no link.
        return ""
