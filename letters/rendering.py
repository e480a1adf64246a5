"""Letter → HTML → PDF. Pure functions plus the per-process WeasyPrint state they reuse.

WeasyPrint is fast only when the expensive parts are made once per process: one
FontConfiguration, one parsed print stylesheet, one URL fetcher and one image cache. The fetcher
is also the security boundary: it serves `data:` URIs (QR code, logo, signature, which we embed
ourselves) and refuses everything else, so a letter body can reach neither `file://` nor the
network.
"""

import base64
import functools
import gc
import mimetypes
from pathlib import Path

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "letters" / "print.css"
QR_MASK = 4


class DataOnlyURLFetcher(URLFetcher):
    """Fetches `data:` URIs only; any other URL (file, http, ftp…) is refused."""

    def __init__(self):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


@functools.cache
def _weasy():
    """Per-process WeasyPrint state, made on first use (or at worker start, see tasks.py)."""
    font_config = FontConfiguration()
    fetcher = DataOnlyURLFetcher()
    stylesheet = CSS(filename=str(PRINT_CSS), font_config=font_config, url_fetcher=fetcher)
    return font_config, fetcher, stylesheet, {}


def warm_up() -> None:
    """Make the per-process state, then move everything alive so far (Django, WeasyPrint, the
    fonts) out of the garbage collector's sight: it never becomes garbage, and without this
    each full collection walks all of it again, which costs a rendering process about a tenth of
    its time (WeasyPrint makes many objects per document)."""
    _weasy()
    gc.collect()
    gc.freeze()


def verification_url(letter) -> str:
    return settings.PRISTAN_PUBLIC_URL + reverse(
        "verify", kwargs={"token": letter.verification_token}
    )


def qr_data_uri(url: str) -> str:
    # A fixed mask pattern: every one of the eight is valid and read by any scanner; letting
    # segno try them all to pick the "best" one takes three quarters of the code's cost.
    return segno.make(url, error="m", mask=QR_MASK).png_data_uri(scale=3, border=0)


def _file_data_uri(field) -> str:
    if not field:
        return ""
    try:
        with field.open("rb") as f:
            data = f.read()
    except OSError:
        return ""
    content_type = mimetypes.guess_type(field.name)[0] or "image/png"
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


# The few words the print layout adds around the text, in the letter's language.
PRINT_LABELS = {
    "ru": {
        "number": "Исх. №",
        "page": "Стр.",
        "of": "из",
        "verify": "Подлинность письма можно проверить по адресу",
        "code": "Код проверки:",
        "draft": "ЧЕРНОВИК",
    },
    "en": {
        "number": "Ref. No.",
        "page": "Page",
        "of": "of",
        "verify": "Verify this letter at",
        "code": "Verification code:",
        "draft": "DRAFT",
    },
    "fr": {
        "number": "Réf. n°",
        "page": "Page",
        "of": "sur",
        "verify": "Vérifier l'authenticité de cette lettre :",
        "code": "Code de vérification\u00a0:",
        "draft": "PROJET",
    },
    "de": {
        "number": "Az.",
        "page": "Seite",
        "of": "von",
        "verify": "Echtheit dieses Schreibens prüfen unter",
        "code": "Prüfcode:",
        "draft": "ENTWURF",
    },
}


def paragraphs(text: str) -> list[str]:
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    return [b for b in blocks if b]


def letter_html(letter, *, draft: bool = False) -> str:
    """The letter as one HTML document: the same for the on-screen preview and the PDF."""
    organisation = letter.case.organisation
    url = verification_url(letter) if not draft else ""
    with translation.override(letter.language):
        return render_to_string(
            "letters/print/letter.html",
            {
                "letter": letter,
                "organisation": organisation,
                "authority": letter.authority,
                "paragraphs": paragraphs(letter.body),
                "date": letter.issued_at or timezone.now(),
                "draft": draft,
                "labels": PRINT_LABELS.get(letter.language, PRINT_LABELS["en"]),
                "verification_url": url,
                "qr": qr_data_uri(url) if url else "",
                "logo": _file_data_uri(organisation.logo),
                "signature": _file_data_uri(organisation.signature_image) if not draft else "",
                "signer_name": letter.signer_name or organisation.letter_signer_name,
                "signer_title": letter.signer_title or organisation.letter_signer_title,
            },
        )


def html_to_pdf(html: str, *, archival: bool = True) -> bytes:
    font_config, fetcher, stylesheet, image_cache = _weasy()
    document = HTML(string=html, url_fetcher=fetcher, base_url="data:,")
    pdf = document.write_pdf(
        stylesheets=[stylesheet],
        font_config=font_config,
        cache=image_cache,
        pdf_variant="pdf/a-3b" if archival else None,
    )
    # The cache is for the logo and signature; every QR code is new, so keep it from growing.
    if len(image_cache) > 8:
        image_cache.clear()
    return pdf
