"""Uploaded files: recognised by their first bytes, never by the name or the browser's word."""

from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest
from django.utils.translation import gettext as _

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"

# Accepted uploads, recognised by their first bytes, never by the name or the browser's word.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),  # narrowed below to DOCX / ODT
]
# The extension a file of each accepted type is stored and downloaded with.
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    DOCX: "docx",
    ODT: "odt",
}


def sniff_content_type(head: bytes) -> str | None:
    """The content type of an upload from its first bytes, or None if it is not accepted."""
    for magic, content_type in _SIGNATURES:
        if head.startswith(magic):
            if content_type == "application/zip":
                if b"[Content_Types].xml" in head and b"word/" in head:
                    return DOCX
                if b"mimetypeapplication/vnd.oasis.opendocument.text" in head:
                    return ODT
                return None
            return content_type
    return None


def name_for_type(name: str, content_type: str) -> str:
    """The file name with the extension of its detected type: a PDF uploaded as `poly.html`
    is `poly.pdf`, so that whoever downloads it opens it as what it is, never as a page (an
    HTML file that starts with a PDF signature passes the checks as a PDF)."""
    extension = EXTENSIONS.get(content_type)
    if extension is None:
        return name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{stem}.{extension}"


def validate_upload(upload: "UploadedFile[bytes]", *, max_bytes: int) -> str:
    size = upload.size
    if size is None:
        # Django gives every upload its size; comparing None would fail the same way.
        raise TypeError("the upload has no size")
    if size > max_bytes:
        raise ValidationError(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB."),
            params={
                "size": f"{size / 1_048_576:.1f}",
                "limit": f"{max_bytes / 1_048_576:.0f}",
            },
            code="too_large",
        )
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            _("This kind of file is not accepted. Upload a PDF, JPEG, PNG, DOCX or ODT file."),
            code="bad_type",
        )
    return content_type


class MemoryOnlyUploadHandler(MemoryFileUploadHandler):
    """Keeps an upload of at most `max_bytes` in memory and never writes it to a temporary
    file (Django's default for uploads over 2.5 MB): for files that must never touch the disk
    in clear, such as a client sheet before it is stored encrypted. A larger request's file is
    dropped (the view then finds no file and says the limit). Install it before the request's
    body is read (csrf_exempt, then csrf_protect, as Django's documentation shows)."""

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        # The multipart envelope adds a little to the file itself.
        self.activated = content_length <= self.max_bytes + 64 * 1024

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if not self.activated:
            return None
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> "UploadedFile[Any] | None":
        if not self.activated:
            return None
        return super().file_complete(file_size)
