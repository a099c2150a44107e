"""`tousu improvements list`: the improvement items (整改跟踪) each result
feedback promised, open, overdue or done (docs/quality-improvements.md)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import add_columns, console, show, text_column
from tousu.connect import database_url
from tousu.services.metrics.improvements.views import Item, ItemStatus, list_items
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.events import utcnow
from tousu.shared.settings import load_settings

improvements_app = typer.Typer(
    help="整改跟踪：处理结果答复中承诺的改进措施，逐项跟踪到销号。", no_args_is_help=True
)
app.add_typer(improvements_app, name="improvements")

out = console()
LIMIT = 1000


async def _items(
    department: str | None, status: ItemStatus | None
) -> tuple[datetime, list[Item], WorkdayCalendar]:
    pool = await asyncpg.create_pool(database_url(load_settings()), min_size=1, max_size=2)
    try:
        now = utcnow()
        found = await list_items(pool, now=now, department=department, status=status, limit=LIMIT)
        return now, found, WorkdayCalendar(await load_years(pool))
    finally:
        await pool.close()


def _late(item: Item, now: datetime, days: WorkdayCalendar) -> int | None:
    """Working days past due (until the closing, once closed); None if not late."""
    if not item.late_at(now):
        return None
    return max(days.working_days_between(item.due_at, item.closed_at or now), 0)


def _day(instant: datetime | None) -> str:
    return instant.astimezone(TZ).strftime("%Y-%m-%d") if instant else ""


@improvements_app.command("list")
def list_command(
    department: Annotated[str | None, typer.Option(help="One department's only.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only overdue: open past due, or closed after it.")
    ] = False,
    status: Annotated[
        str | None, typer.Option(help="open or closed (with --overdue: overdue).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The improvement items, soonest due first, with how late the overdue ones are."""
    if status not in (None, "open", "closed"):
        raise typer.BadParameter("open or closed", param_hint="--status")
    chosen: ItemStatus | None = (
        "overdue" if overdue else "open" if status == "open" else "closed" if status else None
    )
    now, items, days = run(_items(department, chosen))
    if as_json:
        records: list[dict[str, Any]] = [
            {
                "item_id": str(i.item_id),
                "complaint_id": str(i.complaint_id),
                "tracking_no": i.tracking_no,
                "round": i.round,
                "index": i.index,
                "department": i.department,
                "owner": i.owner,
                "text": i.text,
                "due_at": i.due_at.astimezone(TZ).isoformat(),
                "status": i.status,
                "working_days_late": _late(i, now, days),
                "closed_at": i.closed_at.astimezone(TZ).isoformat() if i.closed_at else None,
                "closed_by": i.closed_by,
                "evidence": i.evidence,
            }
            for i in items
        ]
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"整改事项（{len(items)} 项）")
    add_columns(table, ("投诉编号", "部门"), keys={"投诉编号"})
    # Chinese text has no spaces to break at: without a cap rich would take
    # the whole improvement as its narrowest, and a row a block even at 120
    # columns. Not a terminal: uncapped, each improvement on one line.
    text_column(table, "改进措施", **({"max_width": 36} if out.is_terminal else {}))
    add_columns(table, ("期限", "状态", "逾期工作日", "责任人"), keys={"期限"})
    for i in items:
        late = _late(i, now, days)
        table.add_row(
            f"{i.tracking_no or i.complaint_id} #{i.index}",
            i.department,
            i.text,
            _day(i.due_at),
            f"已整改 {_day(i.closed_at)}" if i.status == "closed" else "整改中",
            "" if late is None else str(late),
            i.owner or "—",
        )
    show(out, table)
