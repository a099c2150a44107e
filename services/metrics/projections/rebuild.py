"""Rebuild a projection beside the live one, then swap.

1. Build ``<name>__rebuild`` from every stream up to the store's head, read
   stream by stream in one snapshot (fast, and one history in memory at a
   time).
2. Catch it up over the events committed since, in ``read_all`` order.
3. Under the projection's write lock — the live runners wait a moment —
   take the last events, swap the tables and set the position, in one
   transaction. Readers see the old table until the commit, the new after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from services.metrics.projections import state
from services.metrics.projections.apply import CalendarSource, catch_up, replace_rows
from services.metrics.projections.base import Projection
from shared.logs import get_logger
from shared.store.postgres import Connection, PostgresEventStore, scan_streams, snapshot_head

log = get_logger(__name__)

# (events done, events known so far): a caller's progress bar.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Rebuilt:
    name: str
    events: int
    rows: int
    seconds: float
    position: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _no_progress(_done: int, _total: int) -> None:
    pass


async def rebuild(
    conn: Connection,
    store: PostgresEventStore,
    projection: Projection,
    calendar: CalendarSource,
    progress: Progress = _no_progress,
    *,
    batch: int = 2000,
) -> Rebuilt:
    started = time.perf_counter()
    name = projection.name
    shadow = f"{name}__rebuild"
    await conn.execute("SELECT pg_advisory_lock($1)", state.rebuild_lock(name))
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {shadow}")
        await conn.execute(projection.create_sql(shadow))
        done = rows = position = total = 0
        cal = calendar()
        # The snapshot is read on ``conn`` in a read-only transaction, which
        # holds no transaction id; the rows go in through another connection
        # in short transactions. A long writing transaction would hold back
        # every reader of read_all on the server (the relay, the live
        # projections) until it ended.
        async with store.pool.acquire() as writer:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                head = await snapshot_head(conn)
                if head is not None:
                    total, position = head.count, head.position
                    progress(0, total)
                    async for histories in scan_streams(conn, head):
                        async with writer.transaction():
                            rows += await replace_rows(writer, projection, shadow, histories, cal)
                        done += sum(len(h) for h in histories)
                        progress(done, total)
        # Outside the lock while there is much to do, so live updates go on.
        while True:
            async with conn.transaction():
                step = await catch_up(conn, store, projection, shadow, position, cal, batch)
            position, done = step.position, done + step.events
            progress(done, max(total, done))
            if step.events < batch:
                break
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", state.write_lock(name))
            while True:
                step = await catch_up(conn, store, projection, shadow, position, cal, batch)
                position, done = step.position, done + step.events
                if not step.events:
                    break
            await conn.execute(f"DROP TABLE IF EXISTS {name}")
            await conn.execute(f"ALTER TABLE {shadow} RENAME TO {name}")
            await state.save(
                conn, name, state.State(projection.schema_version, position), rebuilt=True
            )
        progress(done, done)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", state.rebuild_lock(name))
    seconds = time.perf_counter() - started
    rows = await conn.fetchval(f"SELECT count(*) FROM {name}")
    log.info(
        "projection rebuilt",
        projection=name,
        events=done,
        rows=rows,
        seconds=round(seconds, 3),
        position=position,
    )
    return Rebuilt(name, done, int(rows), seconds, position)
