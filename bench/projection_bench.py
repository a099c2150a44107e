"""Projection rebuilds: events/s of ``rebuild_all()`` over a store of
realistic complaint histories (bench/histories.py) — every projection from
one shared scan, as `tousu projections rebuild` does — and of each
projection rebuilt alone.

Run by `tousu bench projections` (1,000,000 events; `--quick`: about 5,000).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.histories import CALENDAR, fill
from bench.scratch import Scratch
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.rebuild import Rebuilt, rebuild_all
from tousu.shared.store.postgres import Connection, PostgresEventStore, snapshot_head

# How long a transaction elsewhere on the server may hold the horizon back.
HORIZON_TIMEOUT = 120.0


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
            await _all_visible(conn, generated.events)
            together = await rebuild_all(conn, store, PROJECTIONS, lambda: CALENDAR)
            result["all"] = _figures(together[0]) | {"rows": {r.name: r.rows for r in together}}
            for projection in PROJECTIONS:
                (alone,) = await rebuild_all(conn, store, [projection], lambda: CALENDAR)
                result[projection.name] = _figures(alone)
    finally:
        await store.close()
    return result


async def _all_visible(conn: Connection, events: int) -> None:
    """Wait until every loaded event is below the server's transaction horizon.

    A rebuild reads up to the horizon (``snapshot_head``), and transaction ids
    are the whole server's: a transaction left open in another database (a
    test, an import) keeps the freshly loaded events out of the rebuild's
    reach, which then measured nothing. The live projections catch up later
    either way; a benchmark of the rebuild must start once they are in reach.
    """
    deadline = time.monotonic() + HORIZON_TIMEOUT
    while True:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            head = await snapshot_head(conn)
        if head is not None and head.count >= events:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"after {HORIZON_TIMEOUT:.0f} s a transaction open elsewhere on the server "
                "still keeps the loaded events out of a rebuild's reach"
            )
        await asyncio.sleep(0.1)
