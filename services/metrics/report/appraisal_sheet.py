"""The monthly workbook's 考核 sheet: the month's appraisal by department and by
person — the ranking with the lists, then every unit's calculation line by
line, as tousu appraisal --explain gives it (docs/quality-appraisal.md)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from tousu.services.metrics.appraisal.views import (
    Appraisal,
    deduction_label,
    figure_label,
    line_ratio,
)
from tousu.services.metrics.cells import looks_like_formula
from tousu.shared.calendar import TZ
from tousu.shared.intake.i18n import Lang

_FILL = PatternFill("solid", fgColor="DDE4EE")
_POINTS = "0.00"
_RATE = "0.00%"

_WORDS: dict[str, tuple[str, str]] = {
    "sheet": ("考核", "Appraisal"),
    "title": (
        "考核 {period}（截至 {as_of}；考核方案第 {version} 版，{effective} 起施行）",
        "Appraisal {period} (as of {as_of}; scheme version {version}, in force from {effective})",
    ),
    "department": ("部门", "Departments"),
    "person": ("承办人", "People (handlers)"),
    "rank": ("名次", "Rank"),
    "unit": ("单位", "Unit"),
    "of_department": ("所属部门", "Department"),
    "score": ("得分", "Score"),
    "base": ("指标分", "Figures"),
    "deducted": ("扣分", "Deducted"),
    "received": ("投诉量", "Received"),
    "list": ("名单", "List"),
    "commend": ("表彰", "commended (表彰)"),
    "account": ("批评和问责", "held to account (批评和问责)"),
    "lines": ("计算明细", "How each score is made"),
    "figure": ("指标", "Figure"),
    "counted": ("计数", "Counted"),
    "rate": ("比率", "Rate"),
    "weight": ("权重", "Weight"),
    "points": ("得分", "Points"),
    "earned": ("指标得分小计", "Points of the figures"),
    "rescaled": ("按满分折算（× {total} ÷ {with_values}）", "Rescaled (× {total} ÷ {with_values})"),
    "total": ("总分", "Score"),
    "rounding": (
        "每项得分 = 权重 × 比率，逐项四舍五入保留两位小数；无数值的指标按有数值指标的权重折算。",
        "Points are weight × rate, each rounded to 2 places (half up); a figure with no "
        "value is left out and the rest rescaled to the full weight.",
    ),
}


def _w(name: str, lang: Lang) -> str:
    zh, en = _WORDS[name]
    return en if lang == "en" else zh


def _text(ws: Worksheet, row: int, column: int, text: str, bold: bool = False) -> None:
    """Text from the data as inert text: never a formula."""
    cell = ws.cell(row, column)
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True
    if bold:
        cell.font = Font(bold=True)


def _number(ws: Worksheet, row: int, column: int, value: Decimal | int | None, fmt: str) -> None:
    if value is None:
        return  # blank: no value, not 0
    cell = ws.cell(row, column, float(value) if isinstance(value, Decimal) else value)
    cell.number_format = fmt


def _headers(ws: Worksheet, row: int, headers: Sequence[str]) -> None:
    for column, header in enumerate(headers, start=1):
        cell = ws.cell(row, column, header)
        cell.font = Font(bold=True)
        cell.fill = _FILL


def _ranking(ws: Worksheet, row: int, result: Appraisal, lang: Lang) -> int:
    _text(ws, row, 1, _w(result.by, lang), bold=True)
    row += 1
    _headers(
        ws,
        row,
        [_w(n, lang) for n in ("rank", "unit", "of_department", "score", "base", "deducted")]
        + [_w("received", lang), _w("list", lang)],
    )
    commend, account = set(result.result.commend), set(result.result.account)
    for unit in result.units:
        row += 1
        _number(ws, row, 1, unit.rank, "0")
        _text(ws, row, 2, unit.key)
        if result.by == "person":
            _text(ws, row, 3, unit.department or "")
        _number(ws, row, 4, unit.score, _POINTS)
        _number(ws, row, 5, unit.base, _POINTS)
        _number(ws, row, 6, unit.deducted, _POINTS)
        _number(ws, row, 7, unit.received, "0")
        mark = "commend" if unit.key in commend else "account" if unit.key in account else None
        if mark:
            _text(ws, row, 8, _w(mark, lang))
    return row + 2


def _lines(ws: Worksheet, row: int, result: Appraisal, lang: Lang) -> int:
    for unit in result.units:
        rank = "—" if unit.rank is None else str(unit.rank)
        _text(ws, row, 1, f"{_w(result.by, lang)} {rank}", bold=True)
        _text(ws, row, 2, unit.key, bold=True)
        row += 1
        _headers(ws, row, [_w(n, lang) for n in ("figure", "counted", "rate", "weight", "points")])
        for line in unit.lines:
            row += 1
            _text(ws, row, 1, figure_label(line.figure, lang))
            _text(ws, row, 2, line_ratio(line, unit.reviews, lang))
            _number(ws, row, 3, line.value, _RATE)
            _number(ws, row, 4, line.weight, "0.##")
            _number(ws, row, 5, line.points, _POINTS)
        row += 1
        _text(ws, row, 1, _w("earned", lang))
        _number(ws, row, 5, unit.earned, _POINTS)
        if unit.rescaled:
            row += 1
            label = _w("rescaled", lang).format(
                total=unit.total_weight, with_values=unit.weight_with_values
            )
            _text(ws, row, 1, label)
            _number(ws, row, 5, unit.base, _POINTS)
        for d in unit.deductions:
            if d.count:
                row += 1
                _text(ws, row, 1, f"− {deduction_label(d.name, lang)}")
                _text(ws, row, 2, f"{d.count} × {d.per_unit:.2f}")
                _number(ws, row, 5, -d.points, _POINTS)
        row += 1
        _text(ws, row, 1, _w("total", lang), bold=True)
        _number(ws, row, 5, unit.score, _POINTS)
        row += 2
    return row


def add_appraisal_sheet(book: Workbook, appraisals: Sequence[Appraisal], lang: Lang) -> None:
    """The 考核 sheet of ``appraisals`` (the same period, by department then by person)."""
    if not appraisals:
        return
    ws = book.create_sheet(_w("sheet", lang))
    first = appraisals[0]
    ws.cell(1, 1, _w("title", lang).format(
        period=first.period.name,
        as_of=f"{first.as_of.astimezone(TZ):%Y-%m-%d %H:%M}",
        version=first.version.version,
        effective=first.version.effective_from.isoformat(),
    )).font = Font(bold=True, size=13)  # fmt: skip
    ws.cell(2, 1, _w("rounding", lang))
    row = 4
    for result in appraisals:
        row = _ranking(ws, row, result, lang)
    _text(ws, row, 1, _w("lines", lang), bold=True)
    row += 2
    for result in appraisals:
        row = _lines(ws, row, result, lang)
    widths = {"A": 30, "B": 18, "C": 12, "D": 10, "E": 10, "F": 10, "G": 10, "H": 16}
    for column, width in widths.items():
        ws.column_dimensions[column].width = width
