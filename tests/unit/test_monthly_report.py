"""`monthly_report` against a fake KPI source computed from hand-made facts.

October 2026 (Asia/Shanghai), figures as of 2026-11-20 12:00:
 c  channel dept       handler      received  decided        feedback (due)         follow-up
 c1 phone   water      =1+2         10-09     acc 10-10      10-20 (10-30) on time  satisfied
 c2 web     water      @SUM(A1)     10-12     acc 10-13      11-05 (11-02) late     dissatisfied
 c3 web     transport  -3           10-15     acc 10-16      none (11-06), overdue  -
(c1 has two files on its steps, c3 one: two cases with evidence)
 c4 letter  -          -            10-20     never (due 10-22), overdue            -
 c0 phone   water      li           2026-08-03, timely and satisfied (trend only)
 c9 web     transport  li           2026-11-02 (after the month: in no October figure)
"""

from __future__ import annotations

import asyncio
import warnings
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image
from structlog.testing import capture_logs

from tousu.services.metrics.kpi import ComplaintFacts, GroupBy, KpiRow, kpis
from tousu.services.metrics.report import charts, fonts
from tousu.services.metrics.report.figures import gather_figures, report_period
from tousu.services.metrics.report.monthly import ReportFiles, monthly_report
from tousu.services.metrics.report.names import GroupNames
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.events.types import Channel, Satisfaction

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=TZ)
CALENDAR = WorkdayCalendar()


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


def fact(
    cid: str,
    received: datetime,
    channel: Channel,
    department: str | None,
    handler: str | None,
    *,
    decided: datetime | None,
    feedback_due: datetime | None = None,
    feedback: datetime | None = None,
    satisfaction: Satisfaction | None = None,
    files: int = 0,
) -> ComplaintFacts:
    accepted = decided is not None
    overdue = (not accepted and at(10, 22, 23) < AS_OF) or (
        accepted and feedback is None and feedback_due is not None and feedback_due < AS_OF
    )
    return ComplaintFacts(
        complaint_id=cid,
        received_at=received,
        channel=channel,
        category="service_quality" if accepted else None,
        department=department,
        handler=handler,
        month=received.strftime("%Y-%m"),
        acceptance_due=CALENDAR.add_working_days(received, 2).at,
        decided_at=decided,
        accepted=accepted,
        rejected=False,
        accepted_at=decided,
        first_feedback_due=feedback_due,
        current_feedback_due=feedback_due,
        first_feedback_at=feedback,
        round=1,
        latest_round_fed_back=feedback is not None,
        reopened_after_feedback=False,
        closed=satisfaction is not None,
        satisfaction=satisfaction,
        reopen_count=0,
        late_entries=0,
        files=files,
        overdue_now=overdue,
    )


FACTS = [
    fact("c0", at(8, 3), Channel.PHONE, "water", "li", decided=at(8, 4),
         feedback_due=at(8, 24, 23), feedback=at(8, 14), satisfaction=Satisfaction.SATISFIED),
    fact("c1", at(10, 9), Channel.PHONE, "water", "=1+2", decided=at(10, 10),
         feedback_due=at(10, 30, 23), feedback=at(10, 20), satisfaction=Satisfaction.SATISFIED,
         files=2),
    fact("c2", at(10, 12), Channel.WEB, "water", "@SUM(A1)", decided=at(10, 13),
         feedback_due=at(11, 2, 23), feedback=at(11, 5),
         satisfaction=Satisfaction.DISSATISFIED),
    fact("c3", at(10, 15), Channel.WEB, "transport", "-3", decided=at(10, 16),
         feedback_due=at(11, 6, 23), files=1),
    fact("c4", at(10, 20), Channel.LETTER, None, None, decided=None),
    fact("c9", at(11, 2), Channel.WEB, "transport", "li", decided=at(11, 3)),
]  # fmt: skip


class FactsSource:
    """The KpiSource contract, answered by the pure KPI core."""

    def __init__(self, facts: list[ComplaintFacts]) -> None:
        self.facts = facts
        self.calls: list[tuple[datetime, datetime, datetime, GroupBy | None]] = []

    async def kpis(
        self, *, start: datetime, end: datetime, as_of: datetime, group_by: GroupBy | None
    ) -> list[KpiRow]:
        self.calls.append((start, end, as_of, group_by))
        return kpis(
            self.facts, start=start, end=end, as_of=as_of, group_by=group_by, calendar=CALENDAR
        )


@pytest.fixture(scope="module")
async def zh(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    out = tmp_path_factory.mktemp("zh")
    return await monthly_report("2026-10", FactsSource(FACTS), out, as_of=AS_OF, trend_months=4)


def sheet(files: ReportFiles, name: str) -> Worksheet:
    ws = load_workbook(files.workbook)[name]
    assert isinstance(ws, Worksheet)
    return ws


def row_of(ws: Worksheet, name: str) -> dict[str, object]:
    headers = [c.value for c in ws[2]]
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] == name:
            return dict(zip(headers, row, strict=True))
    raise AssertionError(f"no row {name!r} in {ws.title}")


async def test_files_are_named_by_month(zh: ReportFiles) -> None:
    assert [p.name for p in zh.paths] == [
        "tousu-2026-10.xlsx",
        "kpi-trend-2026-10.png",
        "department-ranking-2026-10.png",
    ]


async def test_sheets_and_headers_in_chinese(zh: ReportFiles) -> None:
    book = load_workbook(zh.workbook)
    assert book.sheetnames == ["总览", "部门", "承办人", "渠道", "类别", "月份"]
    ws = book["总览"]
    title = str(ws["A1"].value)
    assert "2026-10" in title and "2026-10-01 至 2026-10-31" in title
    assert "2026-11-20 12:00" in title
    headers = [c.value for c in ws[2]]
    assert headers[:3] == ["范围", "投诉量", "受理量"]
    for label in ("受理及时率", "及时率", "办结率", "满意率", "满意率分子", "满意率分母"):
        assert label in headers
    assert headers[-1] == "平均办理工作日"
    assert all(c.font.bold for c in ws[2])
    assert ws.freeze_panes == "B3"


async def test_total_row(zh: ReportFiles) -> None:
    total = row_of(sheet(zh, "总览"), "合计")
    assert total["投诉量"] == 4 and total["受理量"] == 3 and total["当前超期"] == 2
    # c1 on time; c2 late; c3 past due: 1 of 3.
    assert total["及时率"] == pytest.approx(1 / 3)
    assert (total["及时率分子"], total["及时率分母"]) == (1, 3)
    assert total["满意率"] == pytest.approx(0.5)
    # All four decided or past due; c4 missed its acceptance deadline.
    assert total["受理及时率"] == pytest.approx(0.75)
    # Cases with evidence: c1 (two files) and c3 (one), each counted once.
    assert total["有附件证据"] == 2
    departments = sheet(zh, "部门")
    assert row_of(departments, "市水务集团")["有附件证据"] == 1
    assert row_of(departments, "市交通运输局")["有附件证据"] == 1


async def test_rates_are_percentages_and_missing_rates_blank(zh: ReportFiles) -> None:
    ws = sheet(zh, "部门")
    # Department codes as their names, sorted by code; not yet routed last.
    assert [c.value for c in ws["A"][2:]] == ["市交通运输局", "市水务集团", "（未转办）"]
    water = row_of(ws, "市水务集团")
    assert water["及时率"] == pytest.approx(0.5)
    assert (water["及时率分子"], water["及时率分母"]) == (1, 2)
    transport = row_of(ws, "市交通运输局")
    # No follow-up yet: a blank, not 0 %; the counts behind it are still there.
    assert transport["满意率"] is None
    assert (transport["满意率分子"], transport["满意率分母"]) == (0, 0)
    assert transport["平均办理工作日"] is None
    headers = [c.value for c in ws[2]]
    assert ws.cell(4, headers.index("及时率") + 1).number_format == "0.0%"
    days = ws.cell(4, headers.index("平均办理工作日") + 1)
    assert days.value is not None and days.number_format == "0.0"


async def test_text_from_data_is_never_a_formula(zh: ReportFiles) -> None:
    ws = sheet(zh, "承办人")
    cells = {str(c.value): c for c in ws["A"][2:] if isinstance(c, Cell)}
    for name in ("=1+2", "@SUM(A1)", "-3"):
        assert cells[name].data_type == "s"
        assert cells[name].quotePrefix
    with zipfile.ZipFile(zh.workbook) as xlsx:
        sheets = [n for n in xlsx.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in xlsx.read(n) or b"<f " in xlsx.read(n) for n in sheets)


async def test_month_sheet_has_every_month_of_the_window(zh: ReportFiles) -> None:
    ws = sheet(zh, "月份")
    months = [ws.cell(r, 1).value for r in range(3, ws.max_row + 1)]
    assert months == ["2026-07", "2026-08", "2026-09", "2026-10"]
    assert row_of(ws, "2026-08")["投诉量"] == 1
    empty = row_of(ws, "2026-09")
    assert empty["投诉量"] == 0 and empty["及时率"] is None


async def test_charts_are_pngs(zh: ReportFiles) -> None:
    for path in (zh.trend_chart, zh.ranking_chart):
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
        assert width >= 800 and height >= 300
        assert path.stat().st_size > 10_000


async def test_english(tmp_path: Path) -> None:
    files = await monthly_report(
        "2026-10", FactsSource(FACTS), tmp_path, language="en", as_of=AS_OF, trend_months=2
    )
    book = load_workbook(files.workbook)
    assert book.sheetnames == ["Summary", "Department", "Handler", "Channel", "Category", "Month"]
    headers = [c.value for c in book["Summary"][2]]
    assert headers[:2] == ["Scope", "Received"] and "Feedback timeliness" in headers
    channels = [c.value for c in book["Channel"]["A"][2:]]
    assert channels == ["Letter", "Phone", "Web"]
    assert files.trend_chart.is_file() and files.ranking_chart.is_file()


async def test_queries_cover_the_month_and_the_trend_window() -> None:
    source = FactsSource(FACTS)
    period = report_period("2026-10", as_of=AS_OF, trend_months=3)
    await gather_figures(source, period)
    october, november = datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ)
    assert (october, november, AS_OF, None) in source.calls
    assert (datetime(2026, 8, 1, tzinfo=TZ), november, AS_OF, "month") in source.calls
    assert {call[3] for call in source.calls} == {
        None, "department", "handler", "channel", "category", "month"
    }  # fmt: skip


def test_as_of_defaults_to_now_and_never_before_the_month_began() -> None:
    early = datetime(2026, 10, 20, tzinfo=TZ)
    # A month still running is reported as it stands so far.
    assert report_period("2026-10", as_of=None, trend_months=1, now=early).as_of == early
    assert report_period("2026-10", as_of=None, trend_months=1, now=AS_OF).as_of == AS_OF
    with pytest.raises(ValueError, match="before 2026-10 began"):
        report_period("2026-10", as_of=datetime(2026, 9, 30, tzinfo=TZ), trend_months=1)
    with pytest.raises(ValueError, match="YYYY-MM"):
        report_period("2026-13", as_of=None, trend_months=1)


def test_a_cjk_font_is_found() -> None:
    # pylopdf-fonts-zh-cn is a dependency: Chinese charts must not fall back.
    assert fonts.cjk_family() is not None


def test_without_a_cjk_font_charts_are_in_english_and_it_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "_bundled", lambda: None)
    monkeypatch.setattr(fonts, "_installed", lambda: None)
    fonts.cjk_family.cache_clear()
    try:
        with capture_logs() as logs:
            assert fonts.cjk_family() is None
        assert any("no CJK font" in entry["event"] for entry in logs)
        period = report_period("2026-10", as_of=AS_OF, trend_months=2)
        figures = asyncio.run(gather_figures(FactsSource(FACTS), period))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            charts.ranking_chart(figures, tmp_path / "r.png", "zh", GroupNames())
            charts.trend_chart(figures, tmp_path / "t.png", "zh")
        # matplotlib's only sign of tofu is a "Glyph … missing from font(s)" warning.
        assert not [w for w in caught if "missing from font" in str(w.message)]
    finally:
        fonts.cjk_family.cache_clear()
