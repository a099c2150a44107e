"""Projection rebuilds: events/s of ``rebuild()`` for each projection over a
store of realistic complaint histories (bench/histories.py).

Run by `tousu bench projections` (1,000,000 events; `--quick`: about 5,000).
"""

from __future__ import annotations

from typing import Any

from bench.histories import CALENDAR, fill
from bench.scratch import Scratch
from services.metrics.projections import PROJECTIONS
from services.metrics.projections.rebuild import rebuild
from shared.store.postgres import PostgresEventStore


async def run_projection_bench(space: Scratch, *, events: int) -> dict[str, Any]:
    generated = await fill(space.database_url, events=events)
    result: dict[str, Any] = {"generated": generated.as_dict()}
    store = await PostgresEventStore.connect(space.database_url, min_size=2, max_size=2)
    try:
        async with store.pool.acquire() as conn:
            for projection in PROJECTIONS:
                rebuilt = await rebuild(conn, store, projection, lambda: CALENDAR)
                result[projection.name] = {
                    "events": rebuilt.events,
                    "rows": rebuilt.rows,
                    "seconds": round(rebuilt.seconds, 3),
                    "events_per_s": round(rebuilt.events_per_second),
                }
    finally:
        await store.close()
    return result
