"""CSV cells that a spreadsheet would run as a formula are written as text (core.csv_export)."""

import pytest

from core.csv_export import neutralise


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x","y")', "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_a_cell_that_starts_a_formula_gets_a_leading_quote(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["2026/1362", "OFPRA", "Maria Signer", "a=b", "", "'=x"])
def test_other_text_is_left_alone(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [-5, 3, None])
def test_numbers_stay_numbers(value):
    assert neutralise(value) == value
