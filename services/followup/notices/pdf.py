"""A notice (告知书) as a printable A4 PDF, with its Chinese embedded as real text.

The page follows how Chinese public bodies set a notice: the title centred,
the complaint's number under it on the right, the salutation flush left,
paragraphs indented by two characters, and the organisation with the date
under it on the right below the body (落款), kept on a page with the end of
the body. The notice id is printed small at the foot of every page, so that a
reprint can be matched to the notice it repeats. An English notice keeps the
layout but sets block paragraphs (no indent, a gap between), as English
letters do.

Rendering is pure (bytes out), takes a few tenths of a second for the fonts,
and gives the same bytes for the same notice: the PDF's dates are the
notice's own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from tousu.services.followup.notices.documents import NoticeDocument
from tousu.services.followup.notices.wrap import wrap
from tousu.shared.calendar import TZ
from tousu.shared.fonts import bundled_font
from tousu.shared.intake.notices import format_date

__all__ = ["FontMissing", "render_notice_pdf"]

# A4, margins close to the official-document standard (GB/T 9704), in mm.
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 28.0, 26.0, 30.0, 28.0
TEXT_W = PAGE_W - LEFT - RIGHT
PT = 25.4 / 72  # one point in mm

TITLE_SIZE, BODY_SIZE, META_SIZE, FOOT_SIZE = 20.0, 12.0, 11.0, 8.0
# Line height over font size: airy for Chinese, as printed notices are set;
# English, with a gap between paragraphs, needs less.
LEADING = {"zh": 1.75, "en": 1.5}
PARAGRAPH_GAP = {"zh": 0.0, "en": 0.35}  # in lines
SECTION_GAP = 0.5  # in lines: between the body, the contacts and the signature
# Justifying a Chinese line spreads its characters; past this (in mm per
# gap) a line reads as letter-spaced, and stays ragged instead.
MAX_SPREAD = 0.8
GREY = (110, 110, 110)
_PROBE = "受理告知书投诉编号尊敬的您好年月日第页共通知"


class FontMissing(RuntimeError):
    """No font that can set Chinese is installed."""


@dataclass(frozen=True, slots=True)
class _Words:
    """The fixed words of a page in the notice's language."""

    tracking_no: str
    salutation: str
    salutation_named: str
    notice_id: str
    page: str  # page {n} of {total}


_WORDS = {
    "zh": _Words("投诉编号：{}", "您好：", "尊敬的{}：", "通知编号：{}", "第 {} 页 / 共 {} 页"),
    "en": _Words(
        "Tracking number: {}", "Dear complainant,", "Dear {},", "Notice ID: {}", "Page {} of {}"
    ),
}


@functools.cache
def _font_files() -> tuple[Path, Path]:
    # Serif (宋体-like) for the text, as printed notices are set; sans for the
    # small print. The bundled fonts are CFF-based OpenType, which fpdf2 embeds.
    serif = bundled_font("serif", probe=_PROBE)
    sans = bundled_font("sans", probe=_PROBE)
    if serif is None or sans is None:
        raise FontMissing(
            "no font for Chinese text: install pylopdf-fonts-zh-cn (Noto Serif SC, Noto Sans SC)"
        )
    return serif, sans


Draw = Callable[[FPDF, float], None]


@dataclass(frozen=True, slots=True)
class _Row:
    """A slice of the page's flow: its height and how to draw it at a given top."""

    height: float
    draw: Draw
    # Goes on the same page as the row after it (the end of the body with the
    # signature, the title with what follows).
    keep_with_next: bool = False
    gap: bool = False  # white space, dropped at the top of a page


def _gap(height: float) -> _Row:
    return _Row(height, lambda _pdf, _y: None, gap=True)


class _Page:
    """The notice's rows, measured with the PDF's own fonts."""

    def __init__(self, pdf: FPDF, notice: NoticeDocument) -> None:
        self.pdf = pdf
        self.notice = notice
        self.words = _WORDS[notice.language]
        self.zh = notice.language == "zh"
        self.line_h = BODY_SIZE * LEADING[notice.language] * PT
        self.paragraph_gap = self.line_h * PARAGRAPH_GAP[notice.language]

    def measure(self, family: str, size: float) -> Callable[[str], float]:
        self.pdf.set_font(family, size=size)
        widths: dict[str, float] = {}

        def width(text: str) -> float:
            if text not in widths:
                self.pdf.set_font(family, size=size)
                widths[text] = self.pdf.get_string_width(text)
            return widths[text]

        return width

    def text_row(
        self,
        text: str,
        x: float,
        *,
        family: str = "serif",
        size: float = BODY_SIZE,
        height: float | None = None,
        spread_to: float | None = None,
        align: Align = Align.L,
        keep_with_next: bool = False,
    ) -> _Row:
        row_h = self.line_h if height is None else height

        def draw(pdf: FPDF, y: float) -> None:
            pdf.set_font(family, size=size)
            spacing = 0.0
            if spread_to is not None and len(text) > 1:
                spare = spread_to - pdf.get_string_width(text)
                per_gap = spare / (len(text) - 1)
                spacing = per_gap if 0 < per_gap <= MAX_SPREAD else 0.0
            # Tc is in points, the page in mm.
            pdf.set_char_spacing(spacing / PT)
            pdf.set_xy(x, y)
            width = TEXT_W - (x - LEFT) if align is Align.L else TEXT_W
            pdf.cell(width, row_h, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_char_spacing(0)

        return _Row(row_h, draw, keep_with_next=keep_with_next)

    def title(self) -> Iterator[_Row]:
        height = TITLE_SIZE * 1.5 * PT
        measure = self.measure("serif", TITLE_SIZE)
        lines = wrap(self.notice.title, TEXT_W, measure)
        for line in lines:
            yield self.text_row(
                line, LEFT, size=TITLE_SIZE, height=height, align=Align.C, keep_with_next=True
            )
        yield _gap(self.line_h * 0.5)
        number = self.words.tracking_no.format(self.notice.tracking_no)
        yield self.text_row(
            number, LEFT, family="sans", size=META_SIZE, align=Align.R, keep_with_next=True
        )
        yield _gap(self.line_h)

    def salutation(self) -> list[_Row]:
        name = self.notice.recipient_name
        text = self.words.salutation_named.format(name) if name else self.words.salutation
        return [self.text_row(text, LEFT, keep_with_next=True), _gap(self.paragraph_gap)]

    def paragraph(self, text: str) -> list[_Row]:
        measure = self.measure("serif", BODY_SIZE)
        indent = measure("中") * 2 if self.zh else 0.0
        lines = wrap(text, TEXT_W, measure, first_indent=indent)
        rows = []
        for i, line in enumerate(lines):
            x = LEFT + indent if i == 0 else LEFT
            last = i == len(lines) - 1
            # Chinese is set flush on both sides; a paragraph's last line is not.
            spread = None if last or not self.zh else TEXT_W - (x - LEFT)
            # No line left alone at the top or bottom of a page (widow, orphan).
            keep = (i == 0 and len(lines) > 1) or i == len(lines) - 2
            rows.append(self.text_row(line, x, spread_to=spread, keep_with_next=keep))
        return rows

    def body(self) -> list[_Row]:
        rows: list[_Row] = []
        for raw in self.notice.body.splitlines():
            text = raw.strip()
            if not text:
                rows.append(_gap(self.line_h * SECTION_GAP))
                continue
            rows.extend(self.paragraph(text))
            if self.paragraph_gap:
                rows.append(_gap(self.paragraph_gap))
        return rows

    def signature(self) -> _Row:
        """落款: the organisation, the date centred under it, four characters from the right."""
        measure = self.measure("serif", BODY_SIZE)
        org = self.notice.organisation
        day = format_date(self.notice.issued_on, self.notice.language)
        # A hair wider than the longest line, or the name may wrap on rounding.
        width = min(max(measure(org), measure(day)) + 0.5, TEXT_W * 0.7)
        right = LEFT + TEXT_W - (measure("中") * 2 if self.zh else 0.0)
        x = right - width
        lines = [*wrap(org, width, measure), day]

        line_h = self.line_h
        above = line_h * 1.5

        def draw(pdf: FPDF, y: float) -> None:
            pdf.set_font("serif", size=BODY_SIZE)
            for i, line in enumerate(lines):
                pdf.set_xy(x, y + above + line_h * i)
                pdf.cell(width, line_h, line, align=Align.C)

        return _Row(above + line_h * len(lines), draw)

    def rows(self) -> list[_Row]:
        body = self.body()
        while body and body[-1].gap:
            body.pop()
        # The signature never stands alone: the body's last two lines go with it.
        lines = 0
        for i in reversed(range(len(body))):
            row = body[i]
            body[i] = _Row(row.height, row.draw, keep_with_next=True, gap=row.gap)
            lines += not row.gap
            if lines == 2:
                break
        return [*self.title(), *self.salutation(), *body, self.signature()]


def _paginate(rows: list[_Row]) -> list[list[tuple[float, _Row]]]:
    bottom = PAGE_H - BOTTOM
    pages: list[list[tuple[float, _Row]]] = [[]]
    y = TOP
    for i, row in enumerate(rows):
        if row.gap and not pages[-1]:
            continue
        chain = row.height
        j = i
        while rows[j].keep_with_next and j + 1 < len(rows):
            j += 1
            chain += rows[j].height
        # A chain taller than a page breaks where it must.
        keep = y + chain <= bottom or chain > bottom - TOP
        if pages[-1] and (y + row.height > bottom or not keep):
            pages.append([])
            y = TOP
            if row.gap:
                continue
        pages[-1].append((y, row))
        y += row.height
    return pages


def _footer(pdf: FPDF, notice: NoticeDocument, page: int, total: int) -> None:
    words = _WORDS[notice.language]
    pdf.set_font("sans", size=FOOT_SIZE)
    pdf.set_text_color(*GREY)
    y = PAGE_H - BOTTOM + 10
    pdf.set_xy(LEFT, y)
    pdf.cell(TEXT_W, 4, words.notice_id.format(notice.notice_id), align=Align.L)
    if total > 1:
        pdf.set_xy(LEFT, y)
        pdf.cell(TEXT_W, 4, words.page.format(page, total), align=Align.R)
    pdf.set_text_color(0, 0, 0)


def _issued(notice: NoticeDocument) -> datetime:
    return datetime.combine(notice.issued_on, time(9), tzinfo=TZ).astimezone(UTC)


def render_notice_pdf(notice: NoticeDocument) -> bytes:
    """The notice as an A4 PDF. Raises :class:`FontMissing` without a Chinese font."""
    serif, sans = _font_files()
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(False)
    pdf.c_margin = 0
    pdf.add_font("serif", fname=str(serif))
    pdf.add_font("sans", fname=str(sans))
    for font in pdf.fonts.values():
        if not isinstance(font, TTFFont):
            continue
        # Recomputing the subset's bounding boxes runs every glyph's outline
        # program: a third of a render. The whole font's box still bounds it.
        font.ttfont.recalcBBoxes = False
    # A character the serif lacks is set in the sans rather than dropped.
    pdf.set_fallback_fonts(["sans"])
    pdf.set_title(f"{notice.title} {notice.tracking_no}")
    pdf.set_author(notice.organisation)
    pdf.set_subject(str(notice.notice_id))
    pdf.set_lang("zh-CN" if notice.language == "zh" else "en")
    pdf.set_creator("tousu")
    pdf.set_creation_date(_issued(notice))
    pages = _paginate(_Page(pdf, notice).rows())
    for number, placed in enumerate(pages, start=1):
        pdf.add_page()
        for y, row in placed:
            row.draw(pdf, y)
        _footer(pdf, notice, number, len(pages))
    return bytes(pdf.output())
