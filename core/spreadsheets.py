"""Reading an uploaded spreadsheet (CSV, XLSX or ODS) into a header row and data rows, safely.

An uploaded sheet is hostile until read: a zip bomb posing as XLSX, a million rows, formulas,
a binary file named .csv. Everything here refuses such a file with a message the user can act
on (a ValidationError), before it costs memory or time:

- the type comes from the first bytes and the zip's contents, never from the name;
- an XLSX or ODS is a zip: its members' sizes are added up as declared, then as actually
  inflated, before any spreadsheet library opens it;
- formulas are never evaluated: a formula cell in an XLSX or ODS refuses the sheet (its saved
  value may be stale or missing), while text that merely starts with "=" is data;
- rows are counted while they are read, and reading stops past the limit;
- a CSV is UTF-8 or Windows-1251 (with ";" or "," between cells); anything that decodes to
  gibberish in both is refused.

XLSX is read with openpyxl in read-only mode (streamed), ODS with python-calamine, CSV with
the standard library. Cells come back as text, numbers, dates or None, as the sheet holds them.
"""

import csv
import io
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from charset_normalizer import from_bytes
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.uploads import sniff_content_type

type Cell = str | int | float | bool | date | datetime | time | timedelta | None

CSV, XLSX, ODS = "csv", "xlsx", "ods"
MAX_COLUMNS = 100
MAX_ZIP_MEMBERS = 2000
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc)


@dataclass
class Sheet:
    """The first worksheet: its header row and its non-empty data rows, each with the row
    number the spreadsheet shows (the header's number is `header_number`)."""

    format: str
    headers: list[str]
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    header_number: int = 1
    encoding: str = ""
    delimiter: str = ""


def _refuse(message: str, code: str, **params: object) -> ValidationError:
    return ValidationError(message, code=code, params=params or None)


def cell_text(value: Cell) -> str:
    """A cell as the user would type it: dates as 03.04.1990, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def detect_format(head: bytes) -> str:
    """csv, xlsx or ods from the first bytes (a zip is narrowed down by read_sheet)."""
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if sniff_content_type(head) in ("application/pdf", "image/png", "image/jpeg"):
        raise _refuse(
            _("This kind of file is not accepted. Upload an XLSX, ODS or CSV file."), "bad_type"
        )
    if head.startswith(_OLE_MAGIC):
        raise _refuse(
            _(
                "Old Excel files (.xls) are not accepted. Save the sheet as XLSX "
                "(Excel workbook), ODS or CSV and upload it again."
            ),
            "xls",
        )
    return CSV


def read_sheet(data: bytes, *, max_rows: int, max_unzipped_bytes: int) -> Sheet:
    """The first worksheet of `data`; ValidationError with a clear message otherwise."""
    if not data.strip():
        raise _refuse(_("The file is empty."), "empty")
    kind = detect_format(data[:4096])
    if kind == CSV:
        sheet = _read_csv(data, max_rows=max_rows)
    else:
        kind = _zip_kind(data, max_unzipped_bytes=max_unzipped_bytes)
        sheet = (
            _read_xlsx(data, max_rows=max_rows)
            if kind == XLSX
            else _read_ods(data, max_rows=max_rows)
        )
    if not sheet.headers:
        raise _refuse(_("The sheet has no rows: the first row must name the columns."), "empty")
    if not sheet.rows:
        raise _refuse(_("The sheet has a header row but no rows of data below it."), "no_rows")
    return sheet


# --- zip containers (XLSX, ODS) ----------------------------------------------------------------


def _zip_kind(data: bytes, *, max_unzipped_bytes: int) -> str:
    """XLSX or ODS after checking the zip: the declared sizes first, then every member really
    inflated (a forged header can understate them), counting and stopping past the limit. An
    ODS's content.xml is searched for formulas on the way."""
    too_big = _refuse(
        _(
            "The file unpacks to more than %(limit)s MB, which no sheet of 5,000 clients needs: "
            "it was refused unopened. Save it again from your spreadsheet program, or as CSV."
        ),
        "zip_bomb",
        limit=max_unzipped_bytes // 1_000_000,
    )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise _refuse(
            _("The file is damaged: it cannot be opened as XLSX or ODS."), "bad_zip"
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise too_big
        if sum(m.file_size for m in members) > max_unzipped_bytes:
            raise too_big
        names = {m.filename for m in members}
        if "xl/workbook.xml" in names:
            kind = XLSX
        elif "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
            kind = ODS
        else:
            raise _refuse(
                _("This kind of file is not accepted. Upload an XLSX, ODS or CSV file."),
                "bad_type",
            )
        total = 0
        formula = False
        for member in members:
            try:
                with archive.open(member) as stream:
                    tail = b""
                    while chunk := stream.read(1 << 16):
                        total += len(chunk)
                        if total > max_unzipped_bytes:
                            raise too_big
                        if kind == ODS and member.filename == "content.xml" and not formula:
                            formula = b"table:formula=" in tail + chunk
                            tail = chunk[-32:]
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
                raise _refuse(
                    _("The file is damaged: it cannot be opened as XLSX or ODS."), "bad_zip"
                ) from None
        if formula:
            raise _formula_refusal("")
    return kind


def _formula_refusal(where: str) -> ValidationError:
    if where:
        message = _(
            "Cell %(cell)s holds a formula. Pristan reads values only and never runs formulas: "
            "copy the sheet, paste it as values only (Paste Special → Values), and upload it "
            "again."
        )
        return _refuse(message, "formula", cell=where)
    return _refuse(
        _(
            "The sheet holds formulas. Pristan reads values only and never runs formulas: "
            "copy the sheet, paste it as values only (Paste Special → Values), and upload it "
            "again."
        ),
        "formula",
    )


def _too_many_rows(max_rows: int) -> ValidationError:
    return _refuse(
        _(
            "The sheet has more than %(limit)s rows of data. Split it into files of at most "
            "%(limit)s rows and import them one after another."
        ),
        "too_many_rows",
        limit=f"{max_rows:,}".replace(",", "\u00a0"),
    )


def _collect(rows: Iterable[tuple[int, list[Cell]]], *, fmt: str, max_rows: int) -> Sheet:
    """Header = the first non-empty row; empty rows are skipped (their numbers are not reused);
    stops reading as soon as there are more than `max_rows` rows of data."""
    sheet = Sheet(format=fmt, headers=[])
    for number, cells in rows:
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise _refuse(
                _("The sheet has more than %(limit)s columns: only a list of clients is read."),
                "too_many_columns",
                limit=MAX_COLUMNS,
            )
        if not sheet.headers:
            sheet.headers = _headers(cells)
            sheet.header_number = number
            continue
        if len(sheet.rows) >= max_rows:
            raise _too_many_rows(max_rows)
        sheet.rows.append((number, cells))
    width = max([len(sheet.headers), *(len(cells) for _n, cells in sheet.rows)])
    sheet.headers += [_("Column %(n)s") % {"n": i + 1} for i in range(len(sheet.headers), width)]
    return sheet


def _headers(cells: list[Cell]) -> list[str]:
    headers = []
    for i, cell in enumerate(cells):
        text = " ".join(cell_text(cell).split())
        headers.append(text or _("Column %(n)s") % {"n": i + 1})
    return headers


def _read_xlsx(data: bytes, *, max_rows: int) -> Sheet:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        for number, row in enumerate(worksheet.iter_rows(), start=1):
            cells: list[Cell] = []
            for column, cell in enumerate(row, start=1):
                if getattr(cell, "data_type", None) == "f":
                    raise _formula_refusal(f"{get_column_letter(column)}{number}")
                cells.append(cell.value)
            yield number, cells

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unknown extensions
            workbook = load_workbook(
                io.BytesIO(data), read_only=True, data_only=False, keep_links=False
            )
            try:
                worksheet = workbook.worksheets[0]
                # The stored dimensions may be wrong (or forged): read what is there.
                worksheet.reset_dimensions()
                return _collect(rows(), fmt=XLSX, max_rows=max_rows)
            finally:
                workbook.close()
    except ValidationError:
        raise
    except Exception:  # openpyxl raises anything from KeyError to XML errors on a bad file
        raise _refuse(_("The file is damaged: it cannot be opened as XLSX."), "bad_file") from None


def _read_ods(data: bytes, *, max_rows: int) -> Sheet:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        worksheet = workbook.get_sheet_by_index(0)
        start_row = worksheet.start[0] if worksheet.start else 0
        rows: Iterator[tuple[int, list[Cell]]] = (
            (number, list[Cell](cells))
            for number, cells in enumerate(worksheet.iter_rows(), start=start_row + 1)
        )
        return _collect(rows, fmt=ODS, max_rows=max_rows)
    except ValidationError:
        raise
    except Exception:  # calamine's errors are its own classes and ValueError
        raise _refuse(_("The file is damaged: it cannot be opened as ODS."), "bad_file") from None


# --- CSV -------------------------------------------------------------------------------------


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without a byte-order mark), else Windows-1251 if the
    result reads as text; anything else (UTF-16, KOI8-R, a binary file) is refused."""
    if b"\x00" in data[:4096]:
        raise _refuse(
            _(
                "The file is not a CSV in UTF-8 or Windows-1251 (it may be UTF-16 or a binary "
                "file). In your spreadsheet program choose “Save as” → “CSV UTF-8”."
            ),
            "encoding",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    match = from_bytes(data, cp_isolation=["cp1251"]).best()
    if match is None:
        raise _refuse(
            _(
                "The file's text is neither UTF-8 nor Windows-1251, or it is not a table at "
                "all: it reads as gibberish. In your spreadsheet program choose “Save as” → "
                "“CSV UTF-8” and upload that file."
            ),
            "encoding",
        )
    return data.decode("cp1251"), "cp1251"


def _delimiter(text: str) -> str:
    sample = text[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,").delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        return ";" if first_line.count(";") >= first_line.count(",") else ","


def _read_csv(data: bytes, *, max_rows: int) -> Sheet:
    text, encoding = decode_text(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        for number, record in enumerate(reader, start=1):
            yield number, [value.strip() or None for value in record]

    try:
        sheet = _collect(rows(), fmt=CSV, max_rows=max_rows)
    except csv.Error:
        raise _refuse(
            _("The CSV file is malformed (a quote is not closed, or a cell is huge)."),
            "bad_csv",
        ) from None
    sheet.encoding, sheet.delimiter = encoding, delimiter
    return sheet


# --- writing reports -------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A cell for a CSV that people open in a spreadsheet: text that a spreadsheet would take
    for a formula (OWASP's "CSV injection": = + - @ tab CR) gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def write_csv(rows: Iterable[Iterable[str]]) -> bytes:
    """A CSV for Excel and LibreOffice in Russian locales: UTF-8 with a byte-order mark, ";"
    between cells, every cell neutralised."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
