"""The monthly workbook's 热点诉求 sheet: the month's recurring problems per
service item, place and keyword — count, the mean of the months before, the
rise, the hotspot and alert flags, and the cases' tracking numbers
(docs/quality-hotspots.md)."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from tousu.services.metrics.cells import looks_like_formula
from tousu.services.metrics.hotspots.views import Hotspot, HotspotList
from tousu.shared.calendar import TZ
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.i18n import Lang

_FILL = PatternFill("solid", fgColor="DDE4EE")
_WORDS: dict[str, tuple[str, str]] = {
    "sheet": ("热点诉求", "Recurring problems"),
    "title": (
        "热点诉求 {month}（截至 {as_of}；与前 {n} 个月平均比较，"
        "达到 {min} 件且为平均数 {times} 倍以上为热点）",
        "Recurring problems {month} (as of {as_of}; against the mean of the {n} months before; "
        "a hotspot has at least {min} complaints and {times} times that mean)",
    ),
    "service_item": ("服务事项", "Service item"),
    "location": ("地点", "Place"),
    "term": ("关键词", "Keyword"),
    "dimension": ("类型", "Kind"),
    "key": ("热点", "Group"),
    "count": ("件数", "Complaints"),
    "baseline": ("前期月均", "Mean before"),
    "ratio": ("倍数", "Times the mean"),
    "surge": ("热点", "Hotspot"),
    "alerted": ("已预警", "Alert raised"),
    "cases": ("案件编号（最近）", "Cases (latest)"),
    "yes": ("是", "yes"),
    "none": ("本月无投诉。", "No complaints this month."),
}
_HEADERS = ("dimension", "key", "count", "baseline", "ratio", "surge", "alerted", "cases")
_WIDTHS = (10, 28, 8, 10, 10, 8, 8, 60)


def _w(key: str, lang: Lang) -> str:
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


def _text(ws: Worksheet, row: int, column: int, text: str) -> None:
    cell = ws.cell(row, column)
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True  # data text is never a formula


def _name(h: Hotspot, items: dict[str, str]) -> str:
    return items.get(h.key, h.key) if h.dimension == "service_item" else h.key


def add_hotspot_sheet(book: Workbook, found: HotspotList | None, lang: Lang) -> None:
    """Add the sheet when the caller worked the month's list out."""
    if found is None:
        return
    ws = book.create_sheet(_w("sheet", lang))
    rule = found.rule
    ws.cell(1, 1).value = _w("title", lang).format(
        month=found.window.label(),
        as_of=f"{found.as_of.astimezone(TZ):%Y-%m-%d %H:%M}",
        n=rule.baseline_periods,
        min=rule.min_count,
        times=f"{rule.threshold:g}",
    )
    ws.cell(1, 1).font = Font(bold=True, size=13)
    for column, (key, width) in enumerate(zip(_HEADERS, _WIDTHS, strict=True), start=1):
        cell = ws.cell(2, column, _w(key, lang))
        cell.font = Font(bold=True)
        cell.fill = _FILL
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = "C3"
    if not found.items:
        ws.cell(3, 1, _w("none", lang))
        return
    items = {i.code: i.name.get(lang) for i in CommitmentRegister.load().items}
    for row, h in enumerate(found.items, start=3):
        _text(ws, row, 1, _w(h.dimension, lang))
        _text(ws, row, 2, _name(h, items))
        ws.cell(row, 3, h.count).number_format = "0"
        ws.cell(row, 4, round(h.baseline, 2)).number_format = "0.0"
        if h.ratio is not None:
            ws.cell(row, 5, round(h.ratio, 2)).number_format = "0.0"
        if h.surge:
            _text(ws, row, 6, _w("yes", lang))
        if h.alerted:
            _text(ws, row, 7, _w("yes", lang))
        _text(ws, row, 8, " ".join(c.tracking_no or str(c.complaint_id) for c in h.cases))
