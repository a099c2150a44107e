"""Keep the projections up to date as events are stored.

Every replica of the metrics service runs this. Each step takes the
projection's write lock for its transaction and reads the position inside
it, so replicas take turns instead of projecting an event twice, and a
rebuild's swap (which takes the same lock) is never overlapped. Woken by the
store's NOTIFY after each commit; a timeout covers a missed one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from tousu.services.metrics.projections import state
from tousu.services.metrics.projections.apply import CalendarSource, catch_up
from tousu.services.metrics.projections.base import Projection
from tousu.services.metrics.projections.rebuild import rebuild_all
from tousu.shared.logs import get_logger
from tousu.shared.store.postgres import PostgresEventStore

log = get_logger(__name__)


class ProjectionRunner:
    def __init__(
        self,
        store: PostgresEventStore,
        projections: Sequence[Projection],
        calendar: CalendarSource,
        *,
        batch: int = 1000,
        idle_timeout: float = 5.0,
    ) -> None:
        self._store = store
        self._projections = list(projections)
        self._calendar = calendar
        self._batch = batch
        self._idle_timeout = idle_timeout
        self.caught_up = asyncio.Event()

    async def prepare(self) -> None:
        """Create missing tables; rebuild any built with an older schema."""
        async with self._store.pool.acquire() as conn:
            stale = []
            for projection in self._projections:
                await state.ensure_table(conn, projection)
                current = await state.load(conn, projection.name)
                if current is not None and current.schema_version != projection.schema_version:
                    log.info(
                        "projection schema changed: rebuilding",
                        projection=projection.name,
                        was=current.schema_version,
                        now=projection.schema_version,
                    )
                    stale.append(projection)
            if stale:
                await rebuild_all(conn, self._store, stale, self._calendar)

    async def step(self, projection: Projection) -> int:
        """Project the next batch of events; how many there were."""
        async with self._store.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1)", state.write_lock(projection.name)
            )
            current = await state.load(conn, projection.name)
            if current is None or current.schema_version != projection.schema_version:
                return 0  # being rebuilt, or built by a newer version: not ours to touch
            done = await catch_up(
                conn,
                self._store,
                projection,
                projection.name,
                current.position,
                self._calendar(),
                self._batch,
            )
            if done.events:
                await state.save(
                    conn, projection.name, state.State(current.schema_version, done.position)
                )
            return done.events

    async def run(self) -> None:
        await self.prepare()
        async with self._store.wakeup() as wakeup:
            while True:
                try:
                    moved = 0
                    for projection in self._projections:
                        moved += await self.step(projection)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("projection step failed; retrying", error=str(exc))
                    await asyncio.sleep(1.0)
                    continue
                if moved:
                    continue
                self.caught_up.set()
                await wakeup.wait(self._idle_timeout)
