"""Keep the projections up to date as events are stored.

Every replica of the metrics service runs this. A step advances every
projection in one transaction: it takes each projection's write lock, reads
their positions inside the locks, reads the next events once (after the
position furthest behind) and the streams they touched once, and rewrites
each projection's rows of those complaints. Replicas therefore take turns
instead of projecting an event twice, and a rebuild's swap (which takes the
same lock) is never overlapped. Projections at different positions (one just
rebuilt, say) share the batch: each takes the events after its own position.

Woken by the store's NOTIFY after each commit, a timeout covering a missed
one. Before a step, one statement outside any transaction asks whether
anything is readable past the projections: an idle service costs that much a
wake-up, and takes no lock. Wake-ups that arrived before that look are
answered by it; under load, the commits of ``gather`` seconds after a step
wait for the next one rather than each waking a step of its own. When the
listening connection closes, it listens anew and looks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from tousu.services.metrics.projections import state
from tousu.services.metrics.projections.apply import (
    CalendarSource,
    next_events,
    pending,
    replace_rows,
    shares,
)
from tousu.services.metrics.projections.base import Projection
from tousu.services.metrics.projections.rebuild import rebuild_all
from tousu.shared.logs import get_logger
from tousu.shared.store.port import Wakeup
from tousu.shared.store.postgres import PostgresEventStore, read_streams

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
        gather: float = 0.05,
    ) -> None:
        self._store = store
        # One order for taking the write locks, so that replicas cannot deadlock.
        self._projections = sorted(projections, key=lambda p: p.name)
        self._calendar = calendar
        self._batch = batch
        self._idle_timeout = idle_timeout
        self._gather = gather
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

    async def pending(self) -> bool:
        """Whether the store has events some projection has not taken yet."""
        async with self._store.pool.acquire() as conn:
            return await pending(conn, self._projections)

    async def step(self, projection: Projection) -> int:
        """Project the next batch of events into ``projection``; how many there were."""
        return await self._step([projection])

    async def step_all(self) -> int:
        """Project the next batch of events into every projection, in one
        transaction; how many events were read past the one furthest behind."""
        return await self._step(self._projections)

    async def _step(self, projections: Sequence[Projection]) -> int:
        names = [p.name for p in projections]
        async with self._store.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k",
                [state.write_lock(name) for name in names],
            )
            places = await state.load_all(conn, names)
            # Being rebuilt, or built by a newer version: not ours to touch.
            ours = {
                p: places[p.name]
                for p in projections
                if p.name in places and places[p.name].schema_version == p.schema_version
            }
            if not ours:
                return 0
            start = min(ours.values(), key=lambda place: (place.tx_id or 0, place.position))
            # Read before anything is written (see next_events).
            batch = await next_events(conn, start, self._batch)
            if not batch:
                return 0
            taking = shares(batch, start.position, {p: at.position for p, at in ours.items()})
            histories = await read_streams(
                conn, list(dict.fromkeys(s for share in taking for s in share.streams))
            )
            calendar = self._calendar()
            for share in taking:
                projection = share.projection
                await replace_rows(
                    conn,
                    projection,
                    projection.name,
                    [histories[s] for s in share.streams],
                    calendar,
                )
            await state.move(conn, [share.projection.name for share in taking], batch[-1][1])
            return len(batch)

    async def run(self) -> None:
        await self.prepare()
        while True:
            try:
                async with self._store.wakeup() as wakeup:
                    await self._follow(wakeup)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not listen for new events; retrying", error=str(exc))
                await asyncio.sleep(1.0)
                continue
            # No NOTIFY comes on a closed connection: listen anew, then look.
            log.warning("the projections' LISTEN connection closed; listening again")

    async def _follow(self, wakeup: Wakeup) -> None:
        """Step as events come, until the listening connection is lost."""
        loop = asyncio.get_running_loop()
        full = False  # the last step took a whole batch: there is likely more
        stepped = -self._gather  # when the last step began (loop time)
        while not wakeup.lost:
            try:
                # The wake-ups received so far are answered by this look.
                await _drain(wakeup)
                if full or await self.pending():
                    stepped = loop.time()
                    moved = await self.step_all()
                else:
                    moved = 0
                    self.caught_up.set()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("projection step failed; retrying", error=str(exc))
                full = False
                await asyncio.sleep(1.0)
                continue
            full = moved >= self._batch
            if full:
                continue
            # Commits during the step have woken it again already.
            if await wakeup.wait(self._idle_timeout) and not wakeup.lost:
                # Under load a NOTIFY comes with each commit: gather the
                # commits of a moment into one step rather than a step each.
                rest = stepped + self._gather - loop.time()
                if rest > 0:
                    await asyncio.sleep(rest)


async def _drain(wakeup: Wakeup) -> None:
    """Take a wake-up already received, if any, without waiting."""
    await wakeup.wait(0)
