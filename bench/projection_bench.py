"""Projection rebuilds: events/s of ``rebuild_all()`` over a store of
realistic complaint histories (bench/histories.py) — every projection from
one shared scan, as `tousu projections rebuild` does — and of each
projection rebuilt alone.

Run by `tousu bench projections` (1,000,000 events; `--quick`: about 5,000).
"""

from __future__ import annotations

from typing import Any

from bench.histories import CALENDAR, fill
from bench.scratch import Scratch
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.rebuild import Rebuilt, rebuild_all
from tousu.shared.store.postgres import PostgresEventStore


def _figures(rebuilt: Rebuilt) -> dict[str, Any]:
    return {
        "events": rebuilt.events,
        "rows": rebuilt.rows,
        "processes": rebuilt.processes,
        "seconds": round(rebuilt.seconds, 3),
        "events_per_s": round(rebuilt.events_per_second),
    }


async def run_projection_bench(space: Scratch, *, events: int) -> dict[str, Any]:
    generated = await fill(space.database_url, events=events)
    result: dict[str, Any] = {"generated": generated.as_dict()}
    store = await PostgresEventStore.connect(space.database_url, min_size=2, max_size=2)
    try:
        async with store.pool.acquire() as conn:
            together = await rebuild_all(conn, store, PROJECTIONS, lambda: CALENDAR)
            result["all"] = _figures(together[0]) | {"rows": {r.name: r.rows for r in together}}
            for projection in PROJECTIONS:
                (alone,) = await rebuild_all(conn, store, [projection], lambda: CALENDAR)
                result[projection.name] = _figures(alone)
    finally:
        await store.close()
    return result
