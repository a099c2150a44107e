"""`tousu hotspots`: the recurring problems (热点诉求) of a week or a month, per
service item, place and keyword, as the dashboard lists them (docs/quality-hotspots.md)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console, show
from tousu.cli._db import with_database
from tousu.services.metrics.hotspots.views import (
    DIMENSIONS,
    Hotspot,
    HotspotList,
    HotspotRule,
    hotspots,
)
from tousu.services.metrics.kpi.period import PeriodError, parse_instant
from tousu.shared.calendar import TZ
from tousu.shared.events import utcnow
from tousu.shared.events.quality import HotspotDimension, HotspotPeriod
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import load_settings

out = console()

DIMENSION_NAMES: dict[HotspotDimension, str] = {
    "service_item": "服务事项",
    "location": "地点",
    "term": "关键词",
}
CHANGES = {"new": "新出现", "up": "上升", "flat": "持平", "down": "下降"}


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"


class Dimension(StrEnum):
    SERVICE_ITEM = "service_item"
    LOCATION = "location"
    TERM = "term"


_DIMENSION: dict[Dimension, HotspotDimension] = {
    Dimension.SERVICE_ITEM: "service_item",
    Dimension.LOCATION: "location",
    Dimension.TERM: "term",
}
_PERIOD: dict[Period, HotspotPeriod] = {Period.WEEK: "week", Period.MONTH: "month"}


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _at(text: str | None) -> datetime:
    if text is None:
        return utcnow()
    try:
        return parse_instant(text)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--at") from None


def _record(h: Hotspot) -> dict[str, object]:
    return {
        "dimension": h.dimension,
        "key": h.key,
        "count": h.count,
        "baseline": h.baseline,
        "baseline_counts": h.baseline_counts,
        "ratio": h.ratio,
        "change": h.change,
        "surge": h.surge,
        "alerted": h.alerted,
        "cases": [
            {"complaint_id": str(c.complaint_id), "tracking_no": c.tracking_no} for c in h.cases
        ],
    }


def _name(h: Hotspot, items: dict[str, str]) -> str:
    return items.get(h.key, h.key) if h.dimension == "service_item" else h.key


def _table(found: HotspotList) -> Table:
    window = found.window
    so_far = "" if found.complete else "，截至目前"
    table = Table(title=f"热点诉求 {window.label()}（{window.start} 起{so_far}）")
    add_columns(
        table,
        ("类型", "热点", "件数", "前期平均", "变化", "热点", "已预警", "案件"),
        keys={"件数"},
    )
    items = {i.code: i.name.zh for i in CommitmentRegister.load().items}
    for h in found.items:
        change = CHANGES[h.change] + (f" {h.ratio:.1f}倍" if h.ratio and h.change == "up" else "")
        table.add_row(
            DIMENSION_NAMES[h.dimension],
            _name(h, items),
            str(h.count),
            f"{h.baseline:.1f}",
            change,
            "是" if h.surge else "",
            "是" if h.alerted else "",
            " ".join(c.tracking_no or str(c.complaint_id)[:8] for c in h.cases[:3]),
        )
    return table


@app.command("hotspots")
def hotspots_command(
    period: Annotated[Period, typer.Option(help="A week (from Monday) or a month.")] = Period.WEEK,
    at: Annotated[
        str | None,
        typer.Option(
            help="A day or instant in the period (no offset: Asia/Shanghai); default now. "
            "Counts stand as of it."
        ),
    ] = None,
    dimension: Annotated[
        list[Dimension] | None,
        typer.Option(help="service_item, location or term (repeat); default all three."),
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="Only the complaints this department holds.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Groups per dimension.")] = 10,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """The recurring problems (热点诉求) of a week or month: the most complaints
    first, against the mean of the periods before, with the hotspot and alert
    flags and the latest cases."""
    when = _at(at)
    rule = HotspotRule.of(load_settings().quality)
    chosen = tuple(_DIMENSION[d] for d in dimension) if dimension else DIMENSIONS
    hotspot_period = _PERIOD[period]

    async def work(conn: asyncpg.Connection) -> HotspotList:
        return await hotspots(
            conn,
            period=hotspot_period,
            at=min(when, utcnow()),
            rule=rule,
            dimensions=chosen,
            department=department,
            limit=limit,
        )

    found = with_database(
        work,
        missing_table="the complaint_terms projection is missing: start the metrics service "
        "once (it builds it), or run `tousu projections rebuild complaint_terms`",
    )
    if fmt == Format.JSON:
        body = {
            "period": found.window.period,
            "period_start": found.window.start.isoformat(),
            "period_end": found.window.end.isoformat(),
            "label": found.window.label(),
            "complete": found.complete,
            "at": found.as_of.astimezone(TZ).isoformat(),
            "department": department,
            "items": [_record(h) for h in found.items],
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return
    show(out, _table(found))
