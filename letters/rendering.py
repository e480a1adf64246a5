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
import hashlib
import io
import logging
import mimetypes
import os
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

logger = logging.getLogger(__name__)

# The system DejaVu faces the print stylesheet uses (scripts/system-deps.sh installs
# fonts-dejavu-core), as (family, weight, style, file).
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PRINT_FACES = (
    ("Pristan Serif", "normal", "normal", "DejaVuSerif.ttf"),
    ("Pristan Serif", "bold", "normal", "DejaVuSerif-Bold.ttf"),
    ("Pristan Serif", "normal", "italic", "DejaVuSerif-Italic.ttf"),
    ("Pristan Serif", "bold", "italic", "DejaVuSerif-BoldItalic.ttf"),
    ("Pristan Sans", "normal", "normal", "DejaVuSans.ttf"),
    ("Pristan Sans", "bold", "normal", "DejaVuSans-Bold.ttf"),
    ("Pristan Mono", "normal", "normal", "DejaVuSansMono.ttf"),
)
# What letters are written in: Latin with Latin-1 and Extended-A/B (French, German, Romanian,
# Turkish…), combining accents, Cyrillic, general punctuation (dashes, quotes), currency (€),
# letterlike symbols (№), arrows and the minus sign. Characters outside it (a name in Georgian or
# Arabic) still render: Pango falls back to the next family in font-family, then to any font.
FONT_SUBSET_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x300, 0x36F),
    (0x400, 0x52F),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x2190, 0x2199),
    (0x2212, 0x2212),
    (0xFFFD, 0xFFFD),
)
FONT_SUBSET_VERSION = b"1"  # bump when the ranges or the options below change


class DataOnlyURLFetcher(URLFetcher):
    """Fetches `data:` URIs only; any other URL (file, http, ftp…) is refused."""

    def __init__(self):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def _subset_font(source: Path, family: str) -> bytes:
    """A copy of one system DejaVu face cut down to FONT_SUBSET_RANGES, renamed to `family`
    (the DejaVu/Bitstream Vera licence allows modified copies under another name)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.hinting = False  # WeasyPrint drops hinting from the fonts it embeds anyway
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["FFTM", "MATH"]
    font = TTFont(str(source))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for a, b in FONT_SUBSET_RANGES for c in range(a, b + 1)])
    subsetter.subset(font)
    names = font["name"]
    full = f"{family} {names.getDebugName(2) or 'Book'}"
    # Family, unique, full and PostScript names; the copyright and licence entries stay.
    for name_id, value in ((1, family), (3, full), (4, full), (6, full.replace(" ", "-"))):
        names.removeNames(nameID=name_id)
        names.setName(value, name_id, 3, 1, 0x409)
    names.removeNames(nameID=16)
    names.removeNames(nameID=17)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _print_font(source: Path, family: str) -> bytes | None:
    """The subset face, made once per install and kept under VAR_DIR/fonts, keyed by a hash of
    the source font (a DejaVu upgrade makes a new one)."""
    try:
        data = source.read_bytes()
    except OSError:
        return None
    key = hashlib.sha256(FONT_SUBSET_VERSION + family.encode() + data).hexdigest()[:20]
    cached = Path(settings.VAR_DIR) / "fonts" / f"{source.stem}-{key}.ttf"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    try:
        font = _subset_font(source, family)
    except Exception:  # a font fontTools cannot read: the letter uses the system font instead
        logger.warning("Could not subset the print font %s", source.name, exc_info=True)
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(font)
        os.replace(temporary, cached)
    except OSError:
        logger.warning("Could not cache the print font in %s", cached.parent)
    return font


def print_font_faces_css() -> str:
    """@font-face rules giving WeasyPrint the subset faces as data: URIs.

    WeasyPrint subsets every font it embeds for every PDF with fontTools, and with the full system
    DejaVu (3,500–6,000 glyphs, large GSUB/GPOS tables) that was about 80% of a letter's CPU time.
    Starting from a face of about a thousand glyphs makes it several times cheaper; the embedded
    glyphs, and so the look and the size of the letter, stay the same.
    """
    rules = []
    for family, weight, style, filename in PRINT_FACES:
        font = _print_font(FONT_DIR / filename, family)
        if font is None:
            continue
        uri = "data:font/ttf;base64," + base64.b64encode(font).decode()
        rules.append(
            f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'font-style: {style}; src: url("{uri}"); }}'
        )
    return "\n".join(rules)


@functools.cache
def _weasy():
    """Per-process WeasyPrint state, made on first use (or at worker start, see tasks.py)."""
    font_config = FontConfiguration()
    fetcher = DataOnlyURLFetcher()
    stylesheet = CSS(
        string=print_font_faces_css() + "\n" + PRINT_CSS.read_text(encoding="utf-8"),
        base_url="data:,",
        font_config=font_config,
        url_fetcher=fetcher,
    )
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
        "draft": "ЧЕРНОВИК",
    },
    "en": {
        "number": "Ref. No.",
        "page": "Page",
        "of": "of",
        "verify": "Verify this letter at",
        "draft": "DRAFT",
    },
    "fr": {
        "number": "Réf. n°",
        "page": "Page",
        "of": "sur",
        "verify": "Vérifier l'authenticité de cette lettre :",
        "draft": "PROJET",
    },
    "de": {
        "number": "Az.",
        "page": "Seite",
        "of": "von",
        "verify": "Echtheit dieses Schreibens prüfen unter",
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
