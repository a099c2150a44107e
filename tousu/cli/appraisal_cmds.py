"""`tousu appraisal <period>`: the appraisal (考核) of departments or handlers —
the ranking, the 表彰 and 批评和问责 lists, and a unit's calculation line by
line (docs/quality-appraisal.md)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import add_columns, console, show
from tousu.connect import database_url
from tousu.services.metrics.appraisal.views import (
    Appraisal,
    DataFileError,
    NoVersion,
    PeriodError,
    Scheme,
    appraisal,
    appraisal_dict,
    explain,
    money,
    parse_period,
)
from tousu.services.metrics.kpi.period import PeriodError as InstantError
from tousu.services.metrics.kpi.period import parse_instant
from tousu.shared.calendar import TZ
from tousu.shared.events import utcnow
from tousu.shared.settings import load_settings

out = console()
err = console(stderr=True, soft_wrap=True)


class By(StrEnum):
    DEPARTMENT = "department"
    PERSON = "person"


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


_WORDS = {
    "zh": {
        "title": "考核 {period}（{by}）",
        "department": "部门",
        "person": "承办人",
        "rank": "排名",
        "unit": "单位",
        "score": "得分",
        "base": "指标分",
        "deducted": "扣分",
        "received": "投诉量",
        "list": "名单",
        "commend": "表彰",
        "account": "批评和问责",
        "none": "（无）",
        "scheme": "考核方案第 {version} 版（{source}，{effective} 起施行）；截至 {as_of}",
    },
    "en": {
        "title": "Appraisal {period} (by {by})",
        "department": "department",
        "person": "person",
        "rank": "rank",
        "unit": "unit",
        "score": "score",
        "base": "figures",
        "deducted": "deducted",
        "received": "received",
        "list": "list",
        "commend": "commended (表彰)",
        "account": "criticised and held to account (批评和问责)",
        "none": "(none)",
        "scheme": "scheme version {version} ({source}, in force from {effective}); as of {as_of}",
    },
}


async def _appraise(period: str, when: datetime, by: By, scheme: Scheme) -> Appraisal:
    pool = await asyncpg.create_pool(database_url(load_settings()), min_size=1, max_size=2)
    try:
        return await appraisal(pool, period, when, by=by.value, scheme=scheme)
    finally:
        await pool.close()


def _table(result: Appraisal, lang: str) -> Table:
    w = _WORDS[lang]
    title = w["title"].format(period=result.period.name, by=w[result.by])
    table = Table(title=title)
    add_columns(
        table,
        [w["rank"], w["unit"], w["score"], w["base"], w["deducted"], w["received"], w["list"]],
        keys={w["unit"]},
    )
    commend, account = set(result.result.commend), set(result.result.account)
    for unit in result.units:
        mark = w["commend"] if unit.key in commend else w["account"] if unit.key in account else ""
        table.add_row(
            "—" if unit.rank is None else str(unit.rank),
            unit.key,
            money(unit.score),
            money(unit.base),
            money(unit.deducted),
            str(unit.received),
            mark,
        )
    return table


@app.command("appraisal")
def appraisal_cmd(
    period: Annotated[
        str | None,
        typer.Argument(
            help="2026-10 (month), 2026-Q4 (quarter) or 2026 (year); default this month."
        ),
    ] = None,
    by: Annotated[By, typer.Option("--by", help="Departments or handlers.")] = By.DEPARTMENT,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As things stood then (default now).")
    ] = None,
    scheme_file: Annotated[
        Path | None,
        typer.Option("--scheme", exists=True, dir_okay=False, help="A scheme file to use instead."),
    ] = None,
    explain_unit: Annotated[
        str | None,
        typer.Option("--explain", help="Print this unit's calculation line by line."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    fmt: Annotated[Format, typer.Option("--format")] = Format.TABLE,
) -> None:
    """考核：部门或承办人的得分、排名，表彰和批评问责名单（默认本月）。

    Scores the period's complaints (received in it, as of --as-of) under the
    scheme version in force on its first day; see docs/quality-appraisal.md.
    """
    language = "en" if lang.startswith("en") else "zh"
    now = utcnow()
    try:
        when = parse_instant(as_of) if as_of else now
    except InstantError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from None
    try:
        bounds = parse_period(period or now.astimezone(TZ).strftime("%Y-%m"))
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from None
    try:
        scheme = Scheme.configured(scheme_file or load_settings().quality.appraisal_scheme)
        result = run(_appraise(bounds.name, when, by, scheme))
    except (DataFileError, NoVersion) as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if fmt is Format.JSON:
        print(json.dumps(appraisal_dict(result, language), ensure_ascii=False, indent=2))
        return
    if explain_unit is not None:
        unit = result.result.unit(explain_unit)
        if unit is None:
            known = ", ".join(u.key for u in result.units) or "—"
            err.print(f"no unit {explain_unit!r} in {bounds.name} (units: {known})")
            raise typer.Exit(1)
        ranked = sum(1 for u in result.units if u.rank is not None)
        for line in explain(unit, ranked, language):
            out.print(line, highlight=False, markup=False)
    else:
        show(out, _table(result, language))
        w = _WORDS[language]
        for name in ("commend", "account"):
            keys = getattr(result.result, name)
            out.print(f"{w[name]}: {', '.join(keys) or w['none']}", highlight=False)
    version = result.version
    out.print(
        _WORDS[language]["scheme"].format(
            version=version.version,
            source=result.source,
            effective=version.effective_from.isoformat(),
            as_of=result.as_of.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
        ),
        highlight=False,
        markup=False,
    )
