"""`tousu report monthly`: a month's KPIs as an XLSX workbook and PNG charts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import asyncpg
import typer

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console
from tousu.connect import database_url
from tousu.services.metrics.kpi.compute import GROUPINGS
from tousu.services.metrics.kpi.period import PeriodError, parse_instant
from tousu.shared.settings import load_settings

if TYPE_CHECKING:
    from tousu.services.metrics.report.monthly import ReportFiles

report_app = typer.Typer(
    help="Reports (报表): the monthly KPI workbook and charts.", no_args_is_help=True
)
app.add_typer(report_app, name="report")

out = console()
err = console(stderr=True, soft_wrap=True)

LANGUAGES = ("zh-CN", "en")
_CONNECT_TIMEOUT = 5.0


def _parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from None


async def _report(
    month: str, out_dir: Path, lang: str, as_of: datetime | None, trend_months: int
) -> ReportFiles:
    # Imported here: matplotlib and openpyxl are slow to import, and every
    # other command (and `tousu --help`) should not pay for them.
    from tousu.services.metrics.appraisal.views import report_appraisals
    from tousu.services.metrics.hotspots.views import HotspotRule, month_hotspots
    from tousu.services.metrics.kpis import PgKpiSource
    from tousu.services.metrics.report.figures import report_period
    from tousu.services.metrics.report.monthly import monthly_report

    # One connection per concurrent query: the total and each grouping.
    settings = load_settings()
    pool = await asyncpg.create_pool(
        database_url(settings),
        min_size=1,
        max_size=len(GROUPINGS) + 1,
        timeout=_CONNECT_TIMEOUT,
    )
    try:
        # The 考核 sheet stands as of the same instant as the figures.
        when = report_period(month, as_of=as_of, trend_months=trend_months).as_of
        scheme = settings.quality.appraisal_scheme
        return await monthly_report(
            month,
            PgKpiSource(pool),
            out_dir,
            language="en" if lang == "en" else "zh-CN",
            as_of=when,
            trend_months=trend_months,
            appraisals=await report_appraisals(pool, month, when, scheme),
            # The 热点诉求 sheet: the month's recurring problems, as of the same instant.
            hotspots=await month_hotspots(pool, month, when, HotspotRule.of(settings.quality)),
        )
    finally:
        await pool.close()


@report_app.command()
def monthly(
    month: Annotated[str, typer.Argument(help="The month, YYYY-MM (Asia/Shanghai).")],
    out_dir: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Where the files go (created).")
    ] = Path("reports"),
    lang: Annotated[str, typer.Option("--lang", help="zh-CN or en.")] = "zh-CN",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Figures as they stood at this ISO 8601 instant (no offset: Asia/Shanghai);"
            " default now, or the month's end while the month runs. Not before the month's end.",
        ),
    ] = None,
    trend_months: Annotated[
        int, typer.Option("--trend-months", min=1, help="Months in the trend, ending with MONTH.")
    ] = 12,
) -> None:
    """Write tousu-MONTH.xlsx, kpi-trend-MONTH.png and department-ranking-MONTH.png.

    The cohort is the complaints received in MONTH; the trend has one cohort per month.
    """
    from tousu.services.metrics.report.figures import report_period

    if lang not in LANGUAGES:
        raise typer.BadParameter(f"use one of {', '.join(LANGUAGES)}", param_hint="--lang")
    instant = _parse_as_of(as_of)
    try:
        # Checked before connecting: a typo should not wait for a database.
        report_period(month, as_of=instant, trend_months=trend_months)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        files = run(_report(month, out_dir, lang, instant, trend_months))
    except asyncpg.UndefinedTableError:
        err.print("[red]the KPI tables are missing: run `tousu migrate` first[/red]")
        raise typer.Exit(1) from None
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        err.print(f"[red]database not reachable: {exc}[/red]", markup=True, highlight=False)
        raise typer.Exit(1) from None
    for path in files.paths:
        out.print(f"wrote [bold]{path}[/bold]")
