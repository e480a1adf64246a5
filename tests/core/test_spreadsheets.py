"""Reading uploaded sheets (core.spreadsheets): what is read, and the hostile sheets refused
with a message that says what to do."""

import csv
import io
import os
import zipfile
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from core.spreadsheets import neutralise, read_sheet, write_csv
from tests.helpers import ods_bytes, xlsx_bytes

LIMITS = {"max_rows": 5000, "max_unzipped_bytes": 50_000_000}
HEADER = ["ФИО", "Дата рождения", "Гражданство"]
ROWS = [["Иванова Мария Петровна", "03.04.1990", "Россия"], ["Petrov Ivan", "1990-04-03", "RU"]]


def refused(data: bytes, **limits) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        read_sheet(data, **{**LIMITS, **limits})
    return error.value


def csv_data(rows, *, delimiter=";", encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


# --- what is read -------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
def test_csv_in_utf8_or_windows_1251_with_either_separator(delimiter, encoding):
    sheet = read_sheet(csv_data([HEADER, *ROWS], delimiter=delimiter, encoding=encoding), **LIMITS)
    assert sheet.format == "csv"
    assert sheet.delimiter == delimiter
    assert sheet.encoding == ("cp1251" if encoding == "cp1251" else "utf-8")
    assert sheet.headers == HEADER
    assert sheet.rows == [(2, ROWS[0]), (3, ROWS[1])]


def test_xlsx_keeps_date_cells_and_row_numbers_past_blank_rows():
    data = xlsx_bytes([HEADER, [ROWS[0][0], datetime(1990, 4, 3), "Россия"], [], ROWS[1]])
    sheet = read_sheet(data, **LIMITS)
    assert sheet.format == "xlsx"
    assert sheet.rows == [
        (2, ["Иванова Мария Петровна", datetime(1990, 4, 3), "Россия"]),
        (4, ROWS[1]),
    ]


def test_ods_is_read():
    sheet = read_sheet(ods_bytes([HEADER, *ROWS]), **LIMITS)
    assert (sheet.format, sheet.headers, sheet.rows[1]) == ("ods", HEADER, (3, ROWS[1]))


def test_text_starting_with_equals_is_data_not_a_formula():
    """A cell typed as text "=1+1" (an apostrophe in Excel, any CSV) is just text."""
    workbook = Workbook()
    workbook.active.append(HEADER)
    workbook.active.append(["x", "y", "z"])
    cell = workbook.active["A2"]
    cell.value, cell.data_type = '=HYPERLINK("http://evil.example")', "s"
    out = io.BytesIO()
    workbook.save(out)
    assert read_sheet(out.getvalue(), **LIMITS).rows[0][1][0].startswith("=HYPERLINK")
    as_csv = csv_data([HEADER, ["=cmd|' /C calc'!A0", "", ""]])
    assert read_sheet(as_csv, **LIMITS).rows[0][1][0] == "=cmd|' /C calc'!A0"


# --- hostile sheets -----------------------------------------------------------------------------


def test_xlsx_formula_refused_naming_the_cell():
    error = refused(xlsx_bytes([HEADER, ["Иванова", "=TODAY()-1", "Россия"]]))
    assert error.code == "formula"
    assert "B2" in error.messages[0]
    assert "values only" in error.messages[0]


def test_ods_formula_refused():
    error = refused(ods_bytes([HEADER, ROWS[0]], formula='of:=[.A1]&"x"'))
    assert error.code == "formula"


def test_a_hundred_thousand_rows_refused_while_reading():
    rows = [HEADER] + [[f"Client {i}", "01.01.1990", "RU"] for i in range(100_000)]
    error = refused(csv_data(rows))
    assert error.code == "too_many_rows"
    assert "5\u00a0000" in error.messages[0]


def test_row_limit_checked_in_xlsx_too():
    data = xlsx_bytes([HEADER] + [[f"Client {i}", "01.01.1990", "RU"] for i in range(11)])
    assert refused(data, max_rows=10).code == "too_many_rows"
    assert len(read_sheet(data, max_rows=11, max_unzipped_bytes=10**8).rows) == 11


def _zip_bomb(*, member_bytes: int) -> bytes:
    """An "XLSX" whose one sheet inflates from a few hundred kB to `member_bytes` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(member_bytes >> 20):
                member.write(chunk)
    return out.getvalue()


def test_zip_bomb_xlsx_refused_before_opening():
    bomb = _zip_bomb(member_bytes=200 << 20)
    assert len(bomb) < 1_000_000
    error = refused(bomb)
    assert error.code == "zip_bomb"
    assert "50 MB" in error.messages[0]


def test_zip_sizes_are_counted_as_inflated_not_only_as_declared(monkeypatch):
    """A forged header can understate a member's size: the inflated bytes are counted too.
    (The declared total is forged to nothing here by shadowing the module's `sum`.)"""
    bomb = _zip_bomb(member_bytes=8 << 20)
    assert refused(bomb, max_unzipped_bytes=4 << 20).code == "zip_bomb"
    monkeypatch.setattr("core.spreadsheets.sum", lambda values: 0, raising=False)
    assert refused(bomb, max_unzipped_bytes=4 << 20).code == "zip_bomb"


@pytest.mark.parametrize(
    "data",
    [
        "ФИО;Дата\nИванова Мария;03.04.1990\n".encode("koi8-r"),
        "ФИО;Дата\nИванова Мария;03.04.1990\n".encode("cp866"),
        os.urandom(4000),
    ],
    ids=["koi8-r", "cp866", "random-bytes"],
)
def test_wrong_encoding_refused(data):
    error = refused(data)
    assert error.code == "encoding"
    assert "CSV UTF-8" in error.messages[0]


def test_utf16_refused():
    assert refused("ФИО;Дата\nИванова;03.04.1990\n".encode("utf-16")).code == "encoding"


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n"], ids=["empty", "blank"])
def test_empty_file_refused(data):
    assert refused(data).code == "empty"


def test_header_without_rows_refused():
    assert refused(csv_data([HEADER])).code == "no_rows"


@pytest.mark.parametrize(
    "data, code",
    [
        (b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", "bad_type"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(100), "bad_type"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "xls"),
        (b"PK\x03\x04" + os.urandom(200), "bad_zip"),
    ],
    ids=["pdf", "png", "xls", "broken-zip"],
)
def test_unsupported_types_refused(data, code):
    assert refused(data).code == code


def test_docx_is_not_a_sheet():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert refused(out.getvalue()).code == "bad_type"


# --- reports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_report_cells_that_a_spreadsheet_would_run_are_neutralised(start):
    assert neutralise(f"{start}1+1") == f"'{start}1+1"
    assert neutralise("Иванова") == "Иванова"


def test_report_csv_is_utf8_with_bom_and_semicolons():
    data = write_csv([["ФИО", "Ошибки"], ["=SUM(A1)", "ok"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["ФИО;Ошибки", "'=SUM(A1);ok"]
