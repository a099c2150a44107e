"""Rebuild projections beside the live ones, then swap.

1. Build ``<name>__rebuild`` from every stream up to the store's head, read
   stream by stream in one snapshot (fast, and one history in memory at a
   time). Projections rebuilt together share this one scan: each stream's
   history is read once and folded into every projection's rows.
2. Catch each up over the events committed since, in ``read_all`` order.
3. Under the projection's write lock — the live runners wait a moment —
   take the last events, swap the tables and set the position, in one
   transaction. Readers see the old table until the commit, the new after.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from tousu.services.metrics.projections import state
from tousu.services.metrics.projections.apply import CalendarSource, catch_up
from tousu.services.metrics.projections.base import Projection
from tousu.services.metrics.projections.fill import Progress, fill, shadow
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.logs import get_logger
from tousu.shared.store.postgres import Connection, PostgresEventStore

log = get_logger(__name__)


@dataclass(frozen=True)
class Rebuilt:
    name: str
    events: int
    rows: int
    seconds: float
    position: int
    processes: int = 1  # that folded the store's snapshot

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
    workers: int | None = None,
) -> Rebuilt:
    """Rebuild one projection (see :func:`rebuild_all`)."""
    (rebuilt,) = await rebuild_all(
        conn, store, [projection], calendar, progress, batch=batch, workers=workers
    )
    return rebuilt


async def rebuild_all(
    conn: Connection,
    store: PostgresEventStore,
    projections: Sequence[Projection],
    calendar: CalendarSource,
    progress: Progress = _no_progress,
    *,
    batch: int = 2000,
    workers: int | None = None,
) -> list[Rebuilt]:
    """Rebuild ``projections`` from one scan of the store, folded by
    ``workers`` processes (None: one per core for a large store; see
    :mod:`.fill`). Each result's ``seconds`` is the whole run's."""
    started = time.perf_counter()
    # One order for taking the rebuild locks, so two rebuilds cannot deadlock.
    chosen = sorted(projections, key=lambda p: p.name)
    positions: dict[str, int] = {}
    counts: dict[str, int] = {}
    locked: list[Projection] = []
    try:
        for projection in chosen:
            await conn.execute("SELECT pg_advisory_lock($1)", state.rebuild_lock(projection.name))
            locked.append(projection)
        for projection in chosen:
            await state.drop_tables(conn, projection, shadow(projection))
            await conn.execute(projection.create_sql(shadow(projection)))
        cal = calendar()
        filled = await fill(conn, store, chosen, cal, progress, workers)
        for projection in chosen:
            await projection.table_filled(conn, shadow(projection), store.dsn)
        for projection in chosen:
            positions[projection.name], counts[projection.name] = await _finish(
                conn, store, projection, cal, filled.position, batch
            )
        done = filled.events + max(counts.values(), default=0)
        progress(done, done)
    finally:
        for projection in reversed(locked):
            await conn.execute("SELECT pg_advisory_unlock($1)", state.rebuild_lock(projection.name))
    seconds = time.perf_counter() - started
    results = []
    for projection in chosen:
        name = projection.name
        rows = int(await conn.fetchval(f"SELECT count(*) FROM {name}"))
        events = filled.events + counts[name]
        log.info(
            "projection rebuilt",
            projection=name,
            events=events,
            rows=rows,
            seconds=round(seconds, 3),
            position=positions[name],
            processes=filled.processes,
        )
        results.append(Rebuilt(name, events, rows, seconds, positions[name], filled.processes))
    order = {p.name: i for i, p in enumerate(projections)}
    return sorted(results, key=lambda r: order[r.name])


async def _finish(
    conn: Connection,
    store: PostgresEventStore,
    projection: Projection,
    cal: WorkdayCalendar,
    position: int,
    batch: int,
) -> tuple[int, int]:
    """Catch the shadow table up from ``position``, then swap it in: (the
    position it ends at, events caught up)."""
    name, table, done = projection.name, shadow(projection), 0
    # Outside the lock while there is much to do, so live updates go on.
    while True:
        async with conn.transaction():
            step = await catch_up(conn, store, projection, table, position, cal, batch)
        position, done = step.position, done + step.events
        if step.events < batch:
            break
    # Fresh statistics for the planner, and the visibility map that lets the
    # KPI query read its covering index alone (see kpi_facts); the live
    # table's autovacuum would get there only later. VACUUM takes no
    # transaction id, so it holds back no reader of read_all.
    for vacuumed in (table, *projection.derived_tables(table)):
        await conn.execute(f"VACUUM (ANALYZE) {vacuumed}")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", state.write_lock(name))
        while True:
            step = await catch_up(conn, store, projection, table, position, cal, batch)
            position, done = step.position, done + step.events
            if not step.events:
                break
        await state.drop_tables(conn, projection, name)
        renames = zip(
            (table, *projection.derived_tables(table)),
            (name, *projection.derived_tables(name)),
            strict=True,
        )
        for built, live in renames:
            await conn.execute(f"ALTER TABLE {built} RENAME TO {live}")
        await state.save(conn, name, state.State(projection.schema_version, position), rebuilt=True)
    return position, done
