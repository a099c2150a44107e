"""The report's XLSX: a summary sheet, then one sheet per grouping."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from tousu.services.metrics.appraisal.views import Appraisal
from tousu.services.metrics.cells import looks_like_formula
from tousu.services.metrics.hotspots.views import HotspotList
from tousu.services.metrics.kpi.compute import GROUPINGS
from tousu.services.metrics.report.appraisal_sheet import add_appraisal_sheet
from tousu.services.metrics.report.figures import MonthlyFigures
from tousu.services.metrics.report.hotspot_sheet import add_hotspot_sheet
from tousu.services.metrics.report.labels import (
    COLUMNS,
    GROUP_SHEETS,
    NOTES,
    NOTES_TITLE,
    SCOPE,
    SUMMARY_SHEET,
    TOTAL,
    CellKind,
    title,
)
from tousu.services.metrics.report.names import GroupNames
from tousu.shared.calendar import TZ
from tousu.shared.intake.i18n import Lang

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3

_FORMATS: dict[CellKind, str] = {
    "count": "0",
    "rate": "0.0%",
    "numerator": "0",
    "denominator": "0",
    "days": "0.0",
}
# What a spreadsheet may take for the start of a formula (OWASP "CSV injection").
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_MIN_WIDTH, _MAX_WIDTH, _NUMBER_WIDTH = 8, 40, 14
_LINE_HEIGHT = 15  # points, for the default 11-point font


def display_width(text: str) -> int:
    # East Asian wide characters take two columns in a spreadsheet's default font.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def put_text(cell: Cell, text: str) -> None:
    """Write ``text`` from the data as inert text: never a formula, whatever it starts with.

    openpyxl stores any string starting with '=' as a formula; the string type
    undoes that, and the quote prefix (Excel's leading apostrophe, not part of
    the value) keeps it text when someone edits the cell.
    """
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True


def _row(ws: Worksheet, row: int, name: str, values: Sequence[int | float | None]) -> None:
    cell = ws.cell(row, 1)
    if not isinstance(cell, Cell):  # only merged areas have other cells; we merge none
        raise TypeError(f"cell A{row} is merged")
    put_text(cell, name)
    for offset, (column, value) in enumerate(zip(COLUMNS, values, strict=True), start=2):
        if value is None:
            continue  # a blank, not 0: no denominator means no figure
        cell = ws.cell(row, offset, value)
        cell.number_format = _FORMATS[column.kind]


def _header(ws: Worksheet, heading: str, headers: Sequence[str]) -> None:
    ws.cell(TITLE_ROW, 1, heading).font = Font(bold=True, size=13)
    for index, header in enumerate(headers, start=1):
        cell = ws.cell(HEADER_ROW, index, header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = f"B{FIRST_DATA_ROW}"  # the header row and the names stay in view


def _widths(ws: Worksheet, names: Sequence[str], headers: Sequence[str]) -> None:
    first = max(display_width(text) for text in [*names, headers[0]])
    ws.column_dimensions["A"].width = min(max(first + 2, _MIN_WIDTH), _MAX_WIDTH)
    lines = 1
    for index, header in enumerate(headers[1:], start=2):
        # Headers wrap onto two lines or so; the numbers themselves are short.
        wanted = display_width(header) / 2 + 3
        width = min(max(wanted, _MIN_WIDTH), _NUMBER_WIDTH)
        ws.column_dimensions[get_column_letter(index)].width = width
        lines = max(lines, math.ceil(display_width(header) / (width - 2)))
    # Spreadsheets do not grow a row for wrapped text written by a program.
    ws.row_dimensions[HEADER_ROW].height = _LINE_HEIGHT * lines + 4


def _fill(
    ws: Worksheet,
    heading: str,
    group_header: str,
    named_rows: Sequence[tuple[str, Sequence[int | float | None]]],
    lang: Lang,
) -> None:
    headers = [group_header, *(column.header.get(lang) for column in COLUMNS)]
    _header(ws, heading, headers)
    for offset, (name, values) in enumerate(named_rows):
        _row(ws, FIRST_DATA_ROW + offset, name, values)
    _widths(ws, [name for name, _ in named_rows], headers)


def write_workbook(
    figures: MonthlyFigures,
    path: Path,
    lang: Lang,
    names: GroupNames,
    appraisals: Sequence[Appraisal] = (),
    hotspots: HotspotList | None = None,
) -> None:
    period = figures.period
    last_day = period.end - timedelta(days=1)  # both midnights in Asia/Shanghai
    heading = title(
        period.month,
        f"{period.start:%Y-%m-%d}",
        f"{last_day:%Y-%m-%d}",
        f"{period.as_of.astimezone(TZ):%Y-%m-%d %H:%M}",
        lang,
    )
    book = Workbook()
    summary = book.active
    assert summary is not None  # a new workbook always has its first sheet
    summary.title = SUMMARY_SHEET.get(lang)
    total = [column.value(figures.total) for column in COLUMNS]
    _fill(summary, heading, SCOPE.get(lang), [(TOTAL.get(lang), total)], lang)
    _notes(summary, FIRST_DATA_ROW + 2, lang)
    for group_by in GROUPINGS:
        ws = book.create_sheet(GROUP_SHEETS[group_by].get(lang))
        rows = [
            (names.name(group_by, row.group, lang), [column.value(row) for column in COLUMNS])
            for row in figures.groups[group_by]
        ]
        _fill(ws, heading, GROUP_SHEETS[group_by].get(lang), rows, lang)
    # The month's appraisal (考核), when the caller worked it out.
    add_appraisal_sheet(book, appraisals, lang)
    # The month's recurring problems (热点诉求), when the caller worked them out.
    add_hotspot_sheet(book, hotspots, lang)
    book.save(path)


def _notes(ws: Worksheet, row: int, lang: Lang) -> None:
    ws.cell(row, 1, NOTES_TITLE.get(lang)).font = Font(bold=True)
    for offset, note in enumerate(NOTES, start=1):
        ws.cell(row + offset, 1, note.get(lang))
