"""One month's figures: its bounds in Asia/Shanghai, and every KPI row the report shows."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tousu.services.metrics.kpi import GroupBy, KpiRow, Rate
from tousu.services.metrics.kpi.compute import GROUPINGS
from tousu.services.metrics.report.source import KpiSource
from tousu.shared.calendar import TZ

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class ReportPeriod:
    month: str  # 'YYYY-MM'
    start: datetime  # first instant of the month in Asia/Shanghai
    end: datetime  # first instant of the next month
    as_of: datetime
    trend_start: datetime  # first instant of the trend window's first month


@dataclass(frozen=True)
class MonthlyFigures:
    period: ReportPeriod
    total: KpiRow
    # One list per grouping; "month" covers the trend window, every month in
    # it present (a month without complaints is a row of zeros and blanks).
    groups: dict[GroupBy, list[KpiRow]]


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=TZ)


def shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def parse_month(text: str) -> tuple[int, int]:
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    return int(match[1]), int(match[2])


def report_period(
    month: str, *, as_of: datetime | None, trend_months: int, now: datetime | None = None
) -> ReportPeriod:
    """The month's bounds in Asia/Shanghai and the instant its figures stand at.

    By default the figures stand now: a report on a month still running
    shows it so far, with nothing counted as missed that is not yet due. An
    ``as_of`` before the month began is refused: it would count nothing.
    """
    if trend_months < 1:
        raise ValueError("trend_months must be at least 1")
    year, number = parse_month(month)
    start = month_start(year, number)
    end = month_start(*shift_month(year, number, 1))
    if as_of is None:
        as_of = now or datetime.now(UTC)
    elif as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    if as_of < start:
        raise ValueError(f"as_of {as_of.isoformat()} is before {month} began ({start.isoformat()})")
    trend_start = month_start(*shift_month(year, number, 1 - trend_months))
    return ReportPeriod(f"{year:04d}-{number:02d}", start, end, as_of, trend_start)


def _empty_row(group: str | None) -> KpiRow:
    none = Rate(0, 0)
    return KpiRow(group, 0, 0, 0, 0, 0, 0, 0, none, none, none, none, None)


def _every_month(rows: list[KpiRow], period: ReportPeriod) -> list[KpiRow]:
    by_month = {row.group: row for row in rows}
    months: list[str] = []
    year, number = period.trend_start.year, period.trend_start.month
    while month_start(year, number) < period.end:
        months.append(f"{year:04d}-{number:02d}")
        year, number = shift_month(year, number, 1)
    return [by_month.get(m) or _empty_row(m) for m in months]


async def gather_figures(source: KpiSource, period: ReportPeriod) -> MonthlyFigures:
    """Every figure the report shows: the total, each grouping, and the trend."""

    async def query(group_by: GroupBy | None) -> list[KpiRow]:
        start = period.trend_start if group_by == "month" else period.start
        return await source.kpis(start=start, end=period.end, as_of=period.as_of, group_by=group_by)

    total, *grouped = await asyncio.gather(query(None), *(query(g) for g in GROUPINGS))
    groups = dict(zip(GROUPINGS, grouped, strict=True))
    groups["month"] = _every_month(groups["month"], period)
    return MonthlyFigures(period, total[0], groups)
