"""The one spreadsheet guard (tousu.services.metrics.cells) for CSV and XLSX cells alike."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from openpyxl.cell.cell import Cell

from tousu.services.metrics.cells import inert, looks_like_formula
from tousu.services.metrics.report.workbook import put_text

HIDDEN_FORMULAS = ("\n=1+1", " =2+2", "\r\n+3", "\t-4+4", "\u3000@SUM(1)", "  \n=HYPERLINK(1)")
PLAIN = ("普通文字", "1+1=2", "a=b", "TS2611-00001", "", "邮箱 x@example.com")


@pytest.mark.parametrize("text", HIDDEN_FORMULAS)
def test_a_formula_behind_blanks_or_line_breaks_is_made_inert(text: str) -> None:
    assert looks_like_formula(text)
    assert inert(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_is_left_as_it_is(text: str) -> None:
    assert not looks_like_formula(text)
    assert inert(text) == text


@pytest.mark.parametrize("text", HIDDEN_FORMULAS)
def test_an_xlsx_cell_gets_the_same_guard(text: str) -> None:
    sheet = Workbook().active
    assert sheet is not None
    cell = sheet.cell(1, 1)
    assert isinstance(cell, Cell)
    put_text(cell, text)
    assert cell.data_type == "s" and cell.quotePrefix
