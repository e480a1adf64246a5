"""Letter → HTML → PDF. Pure functions plus the per-process WeasyPrint state they reuse.

WeasyPrint is fast only when the expensive parts are made once per process: one
FontConfiguration, one parsed print stylesheet, one URL fetcher and one image cache. The fetcher
is also the security boundary: it serves `data:` URIs (QR code, logo, signature, which we embed
ourselves) and refuses everything else, so a letter body can reach neither `file://` nor the
network.

An issued letter is PDF/A-3a (archival, and tagged: PDF/A's level "a" for accessible) and
declares PDF/UA-1 as well; tests/letters/test_pdf_validation.py checks both with an independent
validator. WeasyPrint takes one `pdf_variant` only, so the PDF/A-3a variant does the work
(tags, sRGB output intent, identifier, PDF/A metadata) and `PDF_UA_XMP` adds the PDF/UA
identification, with the extension schema that PDF/A requires for a namespace it does not
predefine.
"""

import base64
import functools
import gc
import mimetypes
import re
from pathlib import Path

import pydyf
import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dates, timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from casework import selectors as casework_selectors
from letters import formatting
from letters.context import (
    ENCLOSURES_MARKER,
    FACTS_MARKER,
    SIGNER_NAME_MARKER,
    SIGNER_TITLE_MARKER,
)

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "letters" / "print.css"
QR_MASK = 4


def _stream_data_with_unambiguous_end(stream) -> bytes:
    """pydyf ends every stream with LF + "endstream". When the (compressed) data itself ends with
    a CR, that reads as a CR LF end-of-line, and a PDF/A validator counts one byte less than
    /Length (veraPDF's rule 6.1.7.1; about 3 letters in 100 here). A CR LF end-of-line after
    the data is unambiguous; /Length, which counts the data only, stays right."""
    data = _pydyf_stream_data(stream)
    if data.endswith(b"\r\nendstream"):
        data = data[: -len(b"\nendstream")] + b"\r\nendstream"
    return data


# Every pydyf stream, including the object and cross-reference streams made while the file is
# written, goes through this property; there is no per-document hook for them.
_pydyf_stream_data = getattr(pydyf.Stream.data.fget, "original", pydyf.Stream.data.fget)
_stream_data_with_unambiguous_end.original = _pydyf_stream_data  # type: ignore[attr-defined]
pydyf.Stream.data = property(_stream_data_with_unambiguous_end)


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
    # SVG, not PNG: WeasyPrint draws it as vector paths, sharp at any size, whereas a PNG
    # becomes an image XObject with /Interpolate true, which PDF/A-2 and -3 forbid.
    return segno.make(url, error="m", mask=QR_MASK).svg_data_uri(scale=1, border=0)


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
        "ours": "Наш номер дела",
        "theirs": "Ваш номер",
        "page": "стр.",
        "of": "из",
        "verify": "Подлинность письма можно проверить по адресу",
        "code": "Код проверки:",
        "draft": "ЧЕРНОВИК",
        "qr": "QR-код со ссылкой на страницу проверки письма:",
        "logo": "Логотип",
        "signature": "Подпись:",
    },
    "en": {
        "number": "Letter No.",
        "ours": "Our ref.",
        "theirs": "Your ref.",
        "page": "Page",
        "of": "of",
        "verify": "Verify this letter at",
        "code": "Verification code:",
        "draft": "DRAFT",
        "qr": "QR code linking to this letter's verification page:",
        "logo": "Logo of",
        "signature": "Signature of",
    },
    "fr": {
        "number": "Lettre n°",
        "ours": "N/Réf.",
        "theirs": "V/Réf.",
        "page": "Page",
        "of": "sur",
        "verify": "Vérifier l'authenticité de cette lettre :",
        "code": "Code de vérification\u00a0:",
        "draft": "PROJET",
        "qr": "Code QR menant à la page de vérification de cette lettre :",
        "logo": "Logo de",
        "signature": "Signature de",
    },
    "de": {
        "number": "Schreiben Nr.",
        "ours": "Unser Zeichen",
        "theirs": "Ihr Zeichen",
        "page": "Seite",
        "of": "von",
        "verify": "Echtheit dieses Schreibens prüfen unter",
        "code": "Prüfcode:",
        "draft": "ENTWURF",
        "qr": "QR-Code mit Link zur Prüfseite dieses Schreibens:",
        "logo": "Logo:",
        "signature": "Unterschrift:",
    },
}


# The addressee's own file numbers, as each authority labels them, in the letter's language.
REFERENCE_LABELS = {
    "ofpra": {"fr": "OFPRA n°", "en": "OFPRA No.", "de": "OFPRA-Nr.", "ru": "№ OFPRA"},
    "cnda": {"fr": "Recours n°", "en": "CNDA appeal No.", "de": "CNDA-Nr.", "ru": "№ жалобы CNDA"},
    "bamf": {"de": "Gesch.-Z.", "en": "BAMF file No.", "fr": "Réf. BAMF", "ru": "№ BAMF"},
    "vg": {"de": "Az.", "en": "Court file No.", "fr": "N° de requête", "ru": "№ дела"},
    "a_number": {"en": "A-Number", "fr": "A-Number", "de": "A-Number", "ru": "A-Number"},
    "uscis_receipt": {
        "en": "Receipt No.",
        "fr": "Receipt No.",
        "de": "Receipt No.",
        "ru": "Receipt No.",
    },
    "home_office": {
        "en": "Home Office ref.",
        "fr": "Réf. Home Office",
        "de": "Home-Office-Az.",
        "ru": "№ Home Office",
    },
    "unhcr": {"en": "UNHCR reg. No.", "fr": "N° HCR", "de": "UNHCR-Nr.", "ru": "Рег. № УВКБ ООН"},
}
# Which of the case's references an addressee files its mail by: by its kind and country.
ADDRESSEE_REFERENCES = {
    ("asylum_office", "FR"): ["ofpra"],
    ("appeal_court", "FR"): ["cnda", "ofpra"],
    ("administrative_court", "FR"): ["vg", "ofpra"],
    ("asylum_office", "DE"): ["bamf"],
    ("administrative_court", "DE"): ["vg", "bamf"],
    ("asylum_office", "US"): ["a_number", "uscis_receipt"],
    ("immigration_court", "US"): ["a_number"],
    ("asylum_office", "GB"): ["home_office"],
    ("unhcr", ""): ["unhcr"],
}


def addressee_references(letter) -> list[tuple[str, str]]:
    """(label, value) of the references this addressee expects on the letter."""
    authority = letter.authority
    country = authority.country.code if authority.country else ""
    kinds = ADDRESSEE_REFERENCES.get((authority.kind, country)) or ADDRESSEE_REFERENCES.get(
        (authority.kind, ""), []
    )
    found = {ref.kind: ref for ref in letter.case.references.all()}
    if "a_number" in kinds and "a_number" not in found and "eoir" in found:
        found["a_number"] = found["eoir"]  # the immigration court's case is the A-Number
    language = letter.language
    return [
        (REFERENCE_LABELS[kind].get(language, REFERENCE_LABELS[kind]["en"]), found[kind].value)
        for kind in kinds
        if kind in found and found[kind].value
    ]


def paragraphs(text: str) -> list[str]:
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    return [b for b in blocks if b]


# The last paragraph of a letter is its closing formula ("Mit freundlichen Grüßen") when it is
# this short; it is then printed with the signature, so that the two stay on one page.
CLOSING_MAX_CHARS = 300


@functools.cache
def _month_names(language: str) -> list[str]:
    with translation.override(language):
        names = {
            str(month)
            for table in (dates.MONTHS, dates.MONTHS_ALT, dates.MONTHS_AP)
            for month in table.values()
        }
    return sorted(names | {n.lower() for n in names} | {n.capitalize() for n in names}, key=len)[
        ::-1
    ]


@functools.cache
def _unbreakable_pattern(language: str) -> str:
    """Dates, references, URLs and e-mail addresses: printed on one line (a reference broken
    after its "-" is read as two)."""
    months = "|".join(re.escape(m) for m in _month_names(language))
    return "|".join(
        (
            r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)»]",
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
            rf"(?:\d{{1,2}}\.?\s)?(?:{months})\.?\s(?:\d{{1,2}},\s)?\d{{4}}(?:\sг(?:ода|\.))?",
            r"\d{1,2}\.\d{1,2}\.\d{4}",
            r"(?:§|Art\.|art\.|Nr\.|No\.|n°|№)\s?\d+\w*",
            r"[^\W_]*\d[^\W_]*(?:[-/–][^\W_]+)+",
        )
    )


NNBSP = "\u202f"
NBSP = "\u00a0"
NBHYPHEN = "\u2011"


def french_spacing(text: str) -> str:
    """French typography: a narrow no-break space before ; : ! ? and inside « », so that the
    sign never starts a line."""
    text = re.sub(r"\s+([;:!?»])", NNBSP + r"\1", text)
    text = re.sub(r"(?<=\w)([;!?])(?=\s|$)", NNBSP + r"\1", text)
    return re.sub(r"«\s*", "«" + NNBSP, text)


def _unbreakable(match: re.Match[str]) -> str:
    """A date or reference that must stay on one line: no-break spaces and hyphens in the text
    itself. (A `white-space: nowrap` span would do it too, but WeasyPrint 70 then breaks the
    lines before it too early, leaving a word alone on a line.) Addresses keep a span: they
    have no spaces and break anywhere otherwise."""
    text = match.group()
    if "@" in text or "://" in text or text.startswith("www."):
        return f'<span class="nowrap">{escape(text)}</span>'
    return escape(text.replace(" ", NBSP).replace("-", NBHYPHEN))


def marked_up(text: str, *, language: str) -> str:
    """The text as HTML, with dates, references and URLs kept on one line (no automatic
    hyphenation anywhere, so names are never split); newlines become <br>."""
    if language == "fr":
        text = french_spacing(text)
    out: list[str] = []
    position = 0
    for match in re.finditer(_unbreakable_pattern(language), text):
        out.append(escape(text[position : match.start()]))
        out.append(_unbreakable(match))
        position = match.end()
    out.append(escape(text[position:]))
    return mark_safe("".join(out).replace("\n", "<br>"))  # noqa: S308 (escaped above)


# The heading of the list of enclosed documents, in the letter's language.
ENCLOSURES_LABELS = {"fr": "P.J. :", "de": "Anlagen:", "en": "Enclosures:", "ru": "Приложения:"}


def enclosures(letter) -> list[str]:
    """The documents the letter lists as enclosed: frozen when it was issued, else the case's
    checklist items it has, of its procedures in the letter's language."""
    if letter.issued_at:
        return [line for line in letter.enclosures.splitlines() if line.strip()]
    return casework_selectors.enclosures(letter.case, letter.language)


def enclosures_text(letter, items: list[str]) -> str:
    label = ENCLOSURES_LABELS.get(letter.language, ENCLOSURES_LABELS["en"])
    return "\n".join([label, *(f"– {item}" for item in items)])


def fill_markers(letter, *, with_enclosures: bool = True) -> list[str]:
    """The letter's paragraphs as printed: the facts where the text has the facts marker, the
    signer chosen at approval where it names them, the enclosures where the text lists them
    (unless `with_enclosures` is False: the PDF prints them below the signature)."""
    out = []
    for paragraph in paragraphs(letter.body):
        if paragraph == FACTS_MARKER:
            out.extend(paragraphs(letter.facts))
            continue
        if paragraph == ENCLOSURES_MARKER:
            items = enclosures(letter) if with_enclosures else []
            if items:
                out.append(enclosures_text(letter, items))
            continue
        paragraph = paragraph.replace(SIGNER_NAME_MARKER, letter.signer_name)
        out.append(paragraph.replace(SIGNER_TITLE_MARKER, letter.signer_title))
    return out


def letter_html(letter, *, draft: bool = False) -> str:
    """The letter as one HTML document: the same for the on-screen preview and the PDF."""
    organisation = letter.case.organisation
    # All of the organisation's identities in one query (or none, when prefetched): the
    # letter's language for the letterhead, Russian for its optional second line.
    identities = {identity.language: identity for identity in organisation.identities.all()}
    identity = identities.get(letter.language)
    russian = identities.get("ru")
    country = letter.authority.country.code if letter.authority.country else ""
    url = verification_url(letter) if not draft else ""
    texts = fill_markers(letter, with_enclosures=False)
    blocks = [marked_up(p, language=letter.language) for p in texts]
    enclosed = enclosures(letter) if ENCLOSURES_MARKER in paragraphs(letter.body) else []
    closing = ""
    if len(blocks) > 1 and len(texts[-1]) <= CLOSING_MAX_CHARS:
        closing = blocks.pop()
    issued = timezone.localdate(letter.issued_at) if letter.issued_at else timezone.localdate()
    signer = letter.signer
    with translation.override(letter.language):
        return render_to_string(
            "letters/print/letter.html",
            {
                "letter": letter,
                "identity": identity,
                "russian_name": (
                    russian.name if russian and identity and identity.show_russian_name else ""
                ),
                "authority": letter.authority,
                "subject": marked_up(letter.subject, language=letter.language),
                "paragraphs": blocks,
                "closing": closing,
                "date": formatting.format_date(issued, letter.language, country),
                "references": addressee_references(letter),
                "draft": draft,
                "labels": PRINT_LABELS.get(letter.language, PRINT_LABELS["en"]),
                "verification_url": url,
                "qr": qr_data_uri(url) if url else "",
                "logo": _file_data_uri(organisation.logo),
                "signature": (
                    _file_data_uri(signer.signature_image) if signer and not draft else ""
                ),
                "signer_name": letter.signer_name,
                "signer_title": letter.signer_title,
                "enclosures_label": ENCLOSURES_LABELS.get(letter.language, "Enclosures:"),
                "enclosures": [marked_up(item, language=letter.language) for item in enclosed],
            },
        )


# PDF/UA-1 identification (ISO 14289-1, 5) for the XMP packet. pdfuaid is not among the
# schemas PDF/A predefines, so PDF/A (ISO 19005-2/3, 6.6.2.3) wants its description alongside.
PDF_UA_XMP = b"""<rdf:Description rdf:about=""
 xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
 xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name>
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Part of ISO 14289 to which the file conforms</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
<pdfuaid:part>1</pdfuaid:part>
</rdf:Description>
"""


def _declare_pdf_ua(document, pdf) -> None:
    """WeasyPrint finisher: add the PDF/UA identification inside the RDF that WeasyPrint wrote
    for PDF/A. (Its `xmp_metadata` option appends a second rdf:RDF, which readers ignore.)"""
    metadata = pdf.objects[int(pdf.catalog["Metadata"].split()[0])]
    (packet,) = metadata.stream
    metadata.stream = [packet.replace(b"</rdf:RDF>", PDF_UA_XMP + b"</rdf:RDF>", 1)]


def html_to_pdf(html: str, *, archival: bool = True) -> bytes:
    """The PDF of a letter's HTML: PDF/A-3a and PDF/UA-1 when `archival` (issued letters),
    a plain untagged PDF otherwise (draft previews, which are never stored)."""
    font_config, fetcher, stylesheet, image_cache = _weasy()
    document = HTML(string=html, url_fetcher=fetcher, base_url="data:,")
    pdf = document.write_pdf(
        stylesheets=[stylesheet],
        font_config=font_config,
        cache=image_cache,
        pdf_variant="pdf/a-3a" if archival else None,
        finisher=_declare_pdf_ua if archival else None,
    )
    # The cache is for the logo and signature; every QR code is new, so keep it from growing.
    if len(image_cache) > 8:
        image_cache.clear()
    return pdf
