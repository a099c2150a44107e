"""KPI query latency: ``PgKpiSource.kpis`` over the ``kpi_facts`` of a year
of realistic complaints (bench/histories.py), for the total and each grouping.

Three questions, each asked ``repeats`` times (min / median / max ms):
a one-month cohort (the year's last month) and the whole year as of now —
``histories.NOW``, after every recorded fact, so the query reads only the
current rows — and the whole year as it stood mid-year, which reads the
facts' history.

The facts are loaded directly (``histories.fill_kpi_facts``: the rows the
projection computes for each complaint's realistic history), not rebuilt
from events: a million complaints are about eleven million events.

Run by `tousu bench kpis` (1,000,000 complaints; `--quick`: 500).
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from typing import Any

import asyncpg

from bench.histories import END, NOW, START, fill_kpi_facts
from bench.scratch import Scratch
from tousu.services.metrics.kpi import GroupBy
from tousu.services.metrics.kpi.compute import GROUPINGS
from tousu.services.metrics.kpis import PgKpiSource
from tousu.shared.calendar import TZ

COHORTS: dict[str, tuple[datetime, datetime, datetime]] = {
    # name: (start, end, as_of)
    "month_now": (datetime(2026, 12, 1, tzinfo=TZ), END, NOW),
    "year_now": (START, END, NOW),
    "year_mid_year": (START, END, datetime(2026, 7, 1, 12, tzinfo=TZ)),
}


async def run_kpi_bench(space: Scratch, *, complaints: int, repeats: int = 5) -> dict[str, Any]:
    result: dict[str, Any] = {
        "generated": await fill_kpi_facts(space.database_url, complaints=complaints)
    }
    pool = await asyncpg.create_pool(space.database_url, min_size=1, max_size=1)
    try:
        source = PgKpiSource(pool)
        queries: dict[str, Any] = {}
        for cohort, (start, end, as_of) in COHORTS.items():
            groupings: tuple[GroupBy | None, ...] = (None, *GROUPINGS)
            for group_by in groupings:
                times, rows = [], []
                for _ in range(repeats):
                    began = time.perf_counter()
                    rows = await source.kpis(start=start, end=end, as_of=as_of, group_by=group_by)
                    times.append((time.perf_counter() - began) * 1000)
                queries[f"{cohort}/{group_by or 'total'}"] = {
                    "groups": len(rows),
                    "received": sum(r.received for r in rows),
                    "min_ms": round(min(times), 2),
                    "median_ms": round(statistics.median(times), 2),
                    "max_ms": round(max(times), 2),
                }
        result["repeats"] = repeats
        result["queries"] = queries
    finally:
        await pool.close()
    return result
