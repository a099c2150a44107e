"""`tousu metrics`, `tousu projections rebuild` and `tousu supervision overdue`."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated, Any

import asyncpg
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import add_columns, console
from tousu.connect import database_url
from tousu.services.metrics.deadlines import overdue
from tousu.services.metrics.kpi import GroupBy, KpiRow
from tousu.services.metrics.kpi.export import (
    COUNTS,
    RATES,
    csv_header,
    csv_row,
    inert,
    label,
    percent,
    row_dict,
)
from tousu.services.metrics.kpi.period import PeriodError, cohort, parse_instant
from tousu.services.metrics.kpis import PgKpiSource
from tousu.services.metrics.projections import PROJECTIONS, by_name
from tousu.services.metrics.projections.rebuild import Rebuilt, rebuild_all
from tousu.services.metrics.report.names import GroupNames
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.domain.labels import deadline_label
from tousu.shared.events import utcnow
from tousu.shared.events.types import DeadlineKind
from tousu.shared.settings import load_settings
from tousu.shared.store.postgres import PostgresEventStore

out = console()
err = console(stderr=True)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class Grouping(StrEnum):
    DEPARTMENT = "department"
    HANDLER = "handler"
    CHANNEL = "channel"
    CATEGORY = "category"
    MONTH = "month"


@asynccontextmanager
async def _store() -> AsyncIterator[PostgresEventStore]:
    store = await PostgresEventStore.connect(database_url(load_settings()), min_size=1, max_size=4)
    try:
        yield store
    finally:
        await store.close()


async def _calendar(pool: asyncpg.Pool) -> WorkdayCalendar:
    return WorkdayCalendar(await load_years(pool))


# -- tousu metrics ----------------------------------------------------------------


@app.command()
def metrics(
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Cohort start: 2026-10, 2026-10-01 or a timestamp."),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Cohort end (exclusive).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Figures as they stood then (default now).")
    ] = None,
    group_by: Annotated[Grouping | None, typer.Option("--group-by")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """KPI 统计：受理及时率、及时率、办结率、满意率及各项数量（默认本月）。

    The cohort is the complaints received in [from, to), Beijing time where
    no zone is given; read from the kpi_facts projection.
    """
    now = utcnow()
    try:
        when = parse_instant(as_of) if as_of else now
        start, end = cohort(from_, to, now)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc)) from None
    grouping: GroupBy | None = group_by.value if group_by else None
    total, rows = run(_figures(start, end, when, grouping))
    header = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": when.astimezone(TZ).isoformat(),
        "group_by": grouping,
    }
    if fmt == Format.JSON:
        body = {**header, "total": row_dict(total), "rows": [row_dict(r) for r in rows]}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    elif fmt == Format.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow(csv_header())
        for row in [*rows, total]:
            cells = csv_row(row)
            if row is total:
                cells[0] = "合计"
            writer.writerow(cells)
    else:
        _kpi_table(header, rows, total, grouping)


async def _figures(
    start: Any, end: Any, when: Any, group_by: GroupBy | None
) -> tuple[KpiRow, list[KpiRow]]:
    async with _store() as store:
        source = PgKpiSource(store.pool)
        total = (await source.kpis(start=start, end=end, as_of=when, group_by=None))[0]
        rows = (
            await source.kpis(start=start, end=end, as_of=when, group_by=group_by)
            if group_by
            else []
        )
    return total, rows


def _kpi_table(
    header: dict[str, Any], rows: list[KpiRow], total: KpiRow, group_by: GroupBy | None
) -> None:
    names = GroupNames()
    title = f"投诉 {header['from'][:16]} – {header['to'][:16]}，截至 {header['as_of'][:16]}"
    table = Table(title=title)
    columns = ("group", *COUNTS, *RATES, "avg_handling_working_days", "late_entries", "imported")
    for name in columns:
        table.add_column(label(name), justify="left" if name == "group" else "right")
    last = rows[-1] if rows else None
    for row in [*rows, total]:
        name = "合计" if row is total or group_by is None else names.name(group_by, row.group, "zh")
        avg = row.avg_handling_working_days
        table.add_row(
            name,
            *(str(getattr(row, n)) for n in COUNTS),
            *(percent(getattr(row, n)) for n in RATES),
            "—" if avg is None else f"{avg:.1f}",
            str(row.late_entries),
            str(row.imported),
            end_section=row is last,
        )
    out.print(table)


# -- tousu projections rebuild ------------------------------------------------------

projections_app = typer.Typer(help="投影（统计视图）：重建。", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[
        str | None,
        typer.Argument(help=f"One of {', '.join(p.name for p in PROJECTIONS)}; default all."),
    ] = None,
) -> None:
    """Rebuild from the event store beside the live table, then swap it in.

    The metrics service keeps running: it goes on updating the live table
    until the swap, and continues from where the rebuild ended.
    """
    try:
        chosen = [by_name(name)] if name else list(PROJECTIONS)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="NAME") from None
    results = run(_rebuild(chosen))
    table = Table(title="重建完成 / rebuilt")
    for column in ("projection", "events", "rows", "seconds", "events/s"):
        table.add_column(column, justify="left" if column == "projection" else "right")
    for r in results:
        table.add_row(
            r.name,
            f"{r.events:,}",
            f"{r.rows:,}",
            f"{r.seconds:.2f}",
            f"{r.events_per_second:,.0f}",
        )
    out.print(table)


async def _rebuild(chosen: list[Any]) -> list[Rebuilt]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    async with _store() as store:
        calendar = await _calendar(store.pool)
        with Progress(*columns, console=err) as progress:
            # One scan of the store feeds every chosen projection.
            task = progress.add_task(", ".join(p.name for p in chosen), total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            async with store.pool.acquire() as conn:
                return await rebuild_all(conn, store, chosen, lambda: calendar, report)


# -- tousu supervision overdue --------------------------------------------------------

supervision_app = typer.Typer(help="督办：超期清单。", no_args_is_help=True)
app.add_typer(supervision_app, name="supervision")


@supervision_app.command("overdue")
def supervision_overdue(
    department: Annotated[str | None, typer.Option(help="One department's only.")] = None,
    deadline: Annotated[DeadlineKind | None, typer.Option(help="One kind of deadline.")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """What is late now and by how many working days, the longest late first."""
    items = run(_overdue(department, deadline))
    records = [
        {
            "tracking_no": o.deadline.tracking_no,
            "complaint_id": str(o.deadline.complaint_id),
            "department": o.deadline.department,
            "handler": o.deadline.handler,
            "status": o.deadline.status,
            "deadline": o.deadline.kind.value,
            "due_at": o.deadline.due_at.astimezone(TZ).isoformat(),
            "working_days_late": o.working_days_late,
            "hours_late": o.hours_late,
            "supervised": o.deadline.overdue_raised,
            "provisional": o.deadline.provisional,
            "subject": o.deadline.subject,
        }
        for o in items
    ]
    if fmt == Format.JSON:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if fmt == Format.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow(list(records[0]) if records else ["tracking_no"])
        for record in records:
            writer.writerow([inert(str(v)) if v is not None else "" for v in record.values()])
        return
    table = Table(title=f"超期清单（{len(records)} 项）")
    columns = ("投诉编号", "部门", "承办人", "期限", "届满", "超期工作日", "已督办", "事由")
    add_columns(table, columns, keys={"投诉编号", "届满"})
    for o in items:
        d = o.deadline
        table.add_row(
            d.tracking_no or str(d.complaint_id),
            d.department or "—",
            d.handler or "—",
            deadline_label(d.kind.value, "zh"),
            d.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
            str(o.working_days_late),
            "是" if d.overdue_raised else "否",
            (d.subject or "")[:30],
        )
    out.print(table)


async def _overdue(department: str | None, kind: DeadlineKind | None) -> list[Any]:
    async with _store() as store:
        calendar = await _calendar(store.pool)
        return await overdue(store.pool, utcnow(), calendar, department=department, kind=kind)
