"""`monthly_report`: one month's KPI figures, as a workbook and two charts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tousu.services.metrics.appraisal.views import Appraisal
from tousu.services.metrics.hotspots.views import HotspotList
from tousu.services.metrics.report.charts import ranking_chart, trend_chart
from tousu.services.metrics.report.figures import MonthlyFigures, gather_figures, report_period
from tousu.services.metrics.report.labels import Language, lang_of
from tousu.services.metrics.report.names import GroupNames
from tousu.services.metrics.report.source import KpiSource
from tousu.services.metrics.report.workbook import write_workbook
from tousu.shared.intake.i18n import Lang


@dataclass(frozen=True)
class ReportFiles:
    workbook: Path
    trend_chart: Path
    ranking_chart: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.workbook, self.trend_chart, self.ranking_chart)


async def monthly_report(
    month: str,
    source: KpiSource,
    out_dir: Path,
    *,
    language: Language = "zh-CN",
    as_of: datetime | None = None,
    trend_months: int = 12,
    appraisals: Sequence[Appraisal] = (),
    hotspots: HotspotList | None = None,
) -> ReportFiles:
    """Write ``tousu-<month>.xlsx``, ``kpi-trend-<month>.png`` and
    ``department-ranking-<month>.png`` into ``out_dir`` (created if missing)."""
    lang = lang_of(language)
    period = report_period(month, as_of=as_of, trend_months=trend_months)
    figures = await gather_figures(source, period)
    files = ReportFiles(
        workbook=out_dir / f"tousu-{period.month}.xlsx",
        trend_chart=out_dir / f"kpi-trend-{period.month}.png",
        ranking_chart=out_dir / f"department-ranking-{period.month}.png",
    )
    # Rendering is CPU-bound and writes files: off the event loop, so that a
    # service can call this too.
    await asyncio.to_thread(_write, figures, files, lang, appraisals, hotspots)
    return files


def _write(
    figures: MonthlyFigures,
    files: ReportFiles,
    lang: Lang,
    appraisals: Sequence[Appraisal] = (),
    hotspots: HotspotList | None = None,
) -> None:
    names = GroupNames()
    files.workbook.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(figures, files.workbook, lang, names, appraisals, hotspots)
    trend_chart(figures, files.trend_chart, lang)
    ranking_chart(figures, files.ranking_chart, lang, names)
