"""CSV files that a spreadsheet opens as data, never as formulas.

A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return, which some programs
skip before looking) is read by Excel, LibreOffice and Google Sheets as a formula: a signer
named `=HYPERLINK("http://x","y")` becomes a link that sends the reader away, others run
commands or leak the sheet. As OWASP recommends, such a cell gets a leading single quote,
which the spreadsheet shows as text and a reader recognises. Every CSV the application
writes goes through `writer`; numbers stay numbers (only strings are changed).
"""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Writer:
    def __init__(self, out: Any):
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> Any:
        # Returns what the file's write() returned (a streamed response yields it).
        return self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any) -> _Writer:
    """csv.writer(out), with every cell that a spreadsheet would run as a formula neutralised."""
    return _Writer(out)
