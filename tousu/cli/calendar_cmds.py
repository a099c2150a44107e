"""`tousu calendar`: deadlines, month views and importing official schedules."""

from __future__ import annotations

import calendar as gregorian
import getpass
import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console
from tousu.connect import database_url
from tousu.services.metrics.deadlines import provisional_in
from tousu.shared.calendar import (
    TZ,
    CalendarFileError,
    DayInfo,
    DayKind,
    WorkdayCalendar,
    YearData,
    parse_calendar_yaml,
)
from tousu.shared.calendar.repository import load_years, save_years
from tousu.shared.settings import Settings, load_settings

calendar_app = typer.Typer(
    help="The statutory working-day calendar (法定工作日) used for every deadline.",
    no_args_is_help=True,
)
app.add_typer(calendar_app, name="calendar")

out = console()
err = console(stderr=True)

_CONNECT_TIMEOUT = 5.0
_KIND_LABELS = {
    DayKind.WORKDAY: ("工作日", ""),
    DayKind.WEEKEND: ("周末", "dim"),
    DayKind.HOLIDAY: ("节假日", "bold red"),
    DayKind.MAKEUP_WORKDAY: ("调休上班", "bold cyan"),
}
# Failures that mean "no usable database", as opposed to a bug in this code.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    RuntimeError,
    ValueError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


async def _connect(settings: Settings) -> asyncpg.Connection:
    return await asyncpg.connect(database_url(settings), timeout=_CONNECT_TIMEOUT)


async def _imported_years(settings: Settings) -> list[YearData]:
    """Imported years if a database answers; otherwise a warning and none, because
    a deadline from the built-in calendar is still useful at the command line."""
    try:
        conn = await _connect(settings)
    except _UNREACHABLE:
        err.print("[yellow]built-in calendar only (database not reachable)[/yellow]")
        return []
    try:
        return await load_years(conn)
    except asyncpg.UndefinedTableError:
        err.print(
            "[yellow]built-in calendar only (calendar tables missing; run `tousu migrate`)[/yellow]"
        )
        return []
    finally:
        await conn.close()


def _calendar() -> WorkdayCalendar:
    return WorkdayCalendar(run(_imported_years(load_settings())))


def _parse_instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 instant") from None
    return instant.replace(tzinfo=TZ) if instant.tzinfo is None else instant


@calendar_app.command()
def due(
    instant: Annotated[
        str,
        typer.Argument(
            help="Start instant, ISO 8601 (e.g. 2026-02-13T17:00+08:00). "
            "Without an offset it is taken as Asia/Shanghai time."
        ),
    ],
    working_days: Annotated[int, typer.Argument(min=0, help="Working days (0 = end of that day).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The deadline N working days after INSTANT.

    It is the end (23:59:59.999999 +08:00) of the N-th working day after the
    instant's Shanghai day, which itself does not count; 0 gives the end of that day.
    """
    start = _parse_instant(instant).astimezone(TZ)
    deadline = _calendar().add_working_days(start, working_days)
    if as_json:
        print(
            json.dumps(
                {
                    "start": start.isoformat(),
                    "working_days": working_days,
                    "deadline": deadline.at.isoformat(),
                    "provisional": deadline.provisional,
                },
                ensure_ascii=False,
            )
        )
        return
    out.print(f"deadline     {deadline.at.isoformat()}")
    out.print(f"start        {start.isoformat()} + {working_days} working days")
    if deadline.provisional:
        out.print(
            "[yellow]provisional  yes — counts over a year without an official "
            "schedule; recalculated when it is imported[/yellow]"
        )
    else:
        out.print("provisional  no")


def _parse_month(text: str) -> tuple[int, int]:
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a month written YYYY-MM") from None
    return first.year, first.month


def _cell(info: DayInfo) -> str:
    label, style = _KIND_LABELS[info.kind]
    mark = "*" if info.provisional else ""
    text = f"{info.day.day}{mark}\n{label}"
    if info.name:
        text += f"\n{info.name}"
    return f"[{style}]{text}[/{style}]" if style else text


@calendar_app.command()
def show(
    month: Annotated[str, typer.Argument(help="The month, YYYY-MM.")],
) -> None:
    """The month as a grid of day kinds.

    工作日 workday, 周末 weekend, 节假日 holiday, 调休上班 make-up workday;
    days marked * are provisional (their year has no official schedule yet).
    """
    year, number = _parse_month(month)
    cal = _calendar()
    days = cal.month(year, number)
    source = cal.year_data(year)
    title = f"{year}-{number:02d}  ({source.source}"
    title += f": {source.source_document})" if source.source_document else ")"
    table = Table(title=title, show_lines=True)
    for name in ("Mon 一", "Tue 二", "Wed 三", "Thu 四", "Fri 五", "Sat 六", "Sun 日"):
        table.add_column(name, justify="center")
    for week in gregorian.Calendar().monthdatescalendar(year, number):
        table.add_row(*(_cell(days[d.day - 1]) if d.month == number else "" for d in week))
    out.print(table)
    workdays = sum(1 for info in days if info.is_workday)
    out.print(f"{workdays} working days")
    if any(info.provisional for info in days):
        out.print(
            "[yellow]* provisional: weekends and fixed statutory holidays only; "
            "import the official schedule to firm it up[/yellow]"
        )


@calendar_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Calendar YAML file (see shared/calendar/data/example-2027.yaml).",
        ),
    ],
    imported_by: Annotated[
        str | None, typer.Option("--by", help="Who imports it (default: the login name).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only validate the file; store nothing.")
    ] = False,
) -> None:
    """Validate FILE and store its years in the database.

    Each year in the file replaces any earlier import of that year wholesale.
    """
    try:
        years = parse_calendar_yaml(file.read_text(encoding="utf-8"), str(file))
    except CalendarFileError as exc:
        for problem in exc.problems:
            err.print(problem.render(exc.filename), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    summary = Table("year", "holidays", "make-up workdays", "source")
    for data in years:
        summary.add_row(
            str(data.year),
            str(len(data.holidays)),
            str(len(data.makeup_workdays)),
            data.source_document or "",
        )
    out.print(summary)
    if check:
        out.print("file is valid; nothing stored (--check)")
        return
    affected = run(_store(load_settings(), years, imported_by or getpass.getuser()))
    out.print(f"imported {', '.join(str(d.year) for d in years)}; running services reload")
    if affected:
        out.print(
            f"{affected} open case(s) have provisional deadlines in these years: the "
            "metrics service recalculates them on its next sweep (DeadlineRecalculated)"
        )


async def _store(settings: Settings, years: list[YearData], imported_by: str) -> int:
    """Save the years; how many open cases have a provisional deadline in them."""
    try:
        conn = await _connect(settings)
    except _UNREACHABLE as exc:
        err.print(f"[red]database not reachable: {exc}[/red]")
        raise typer.Exit(2) from None
    try:
        await save_years(conn, years, imported_by)
        return len(await provisional_in(conn, [d.year for d in years]))
    finally:
        await conn.close()
