"""Fill a rebuild's shadow tables from one snapshot of the store, folding
shares of the streams in separate processes at once.

Folding events into rows is Python, so one process keeps one core busy.
With ``workers`` > 1 the coordinating transaction exports its snapshot
(``pg_export_snapshot``), and each extra process imports it (``SET
TRANSACTION SNAPSHOT``): every share is read from exactly the same state of
the store. Shares are disjoint ranges of stream ids covering all of them,
so each stream is folded once; every process writes its rows in short
transactions of its own.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized

from tousu.services.metrics.projections.apply import write_rows
from tousu.services.metrics.projections.base import Projection
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.calendar.workdays import YearData
from tousu.shared.store.postgres import (
    Connection,
    Head,
    PostgresEventStore,
    scan_streams,
    snapshot_head,
    stream_bounds,
)

# Below this many events a second process costs more (about a second to
# start and import) than it saves.
PARALLEL_FROM = 100_000

# (events done, events in all): a caller's progress bar.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Filled:
    events: int  # read and folded
    position: int  # where in the read_all order they end (0: empty store)
    processes: int  # that folded them


@dataclass(frozen=True)
class _Share:
    first: str | None  # stream ids from this one (None: from the first) …
    end: str | None  # … up to this one, excluded (None: to the last)


@dataclass(frozen=True)
class _Job:
    """What a worker process needs; picklable."""

    dsn: str
    snapshot: str
    head: Head
    share: _Share
    projections: tuple[str, ...]
    calendar_years: tuple[YearData, ...]


def shadow(projection: Projection) -> str:
    """The table a rebuild builds beside the live one."""
    return f"{projection.name}__rebuild"


def default_workers(events: int) -> int:
    return (os.cpu_count() or 1) if events >= PARALLEL_FROM else 1


async def fill(
    conn: Connection,
    store: PostgresEventStore,
    projections: Sequence[Projection],
    calendar: WorkdayCalendar,
    progress: Progress,
    workers: int | None = None,
) -> Filled:
    """Fold every stream up to the store's head into each projection's
    shadow table; ``workers``: how many processes (None: one per core for a
    large store)."""
    # The snapshot is read in a read-only transaction, which holds no
    # transaction id; the rows go in through other connections in short
    # transactions. A long writing transaction would hold back every reader
    # of read_all on the server (the relay, the live projections) until it
    # ended.
    async with store.pool.acquire() as writer:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            head = await snapshot_head(conn)
            if head is None:
                return Filled(0, 0, 1)
            progress(0, head.count)
            parts = default_workers(head.count) if workers is None else workers
            cuts = await stream_bounds(conn, parts, head.count)
            shares = [_Share(a, b) for a, b in zip([None, *cuts], [*cuts, None], strict=True)]
            if len(shares) == 1:
                done = await _fill_share(
                    conn, writer, projections, head, shares[0], calendar, _reporter(progress, head)
                )
            else:
                snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
                jobs = [
                    _Job(
                        store.dsn,
                        snapshot,
                        head,
                        share,
                        tuple(p.name for p in projections),
                        tuple(calendar.imported_years.values()),
                    )
                    for share in shares[1:]
                ]
                done = await _in_parallel(
                    conn, writer, projections, head, shares[0], calendar, jobs, progress
                )
    return Filled(done, head.position, len(shares))


def _reporter(progress: Progress, head: Head, others: Callable[[], int] = lambda: 0) -> Progress:
    def report(done: int, _total: int) -> None:
        progress(done + others(), head.count)

    return report


async def _fill_share(
    reader: Connection,
    writer: Connection,
    projections: Sequence[Projection],
    head: Head,
    share: _Share,
    calendar: WorkdayCalendar,
    progress: Progress,
) -> int:
    done = 0
    async for histories in scan_streams(reader, head, first=share.first, end=share.end):
        async with writer.transaction():
            for projection in projections:
                await write_rows(writer, projection, shadow(projection), histories, calendar)
        done += sum(len(h) for h in histories)
        progress(done, head.count)
    return done


async def _in_parallel(
    conn: Connection,
    writer: Connection,
    projections: Sequence[Projection],
    head: Head,
    own: _Share,
    calendar: WorkdayCalendar,
    jobs: list[_Job],
    progress: Progress,
) -> int:
    # Spawned, not forked: a fork would copy this process's open connections
    # and event loop.
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(
        len(jobs), mp_context=context, initializer=_share_counter, initargs=(counter,)
    )
    try:
        futures = [loop.run_in_executor(pool, _work, job) for job in jobs]
        report = _reporter(progress, head, lambda: int(counter.value))
        done = await _fill_share(conn, writer, projections, head, own, calendar, report)
        # The exported snapshot lives as long as this transaction: it stays
        # open until every worker has finished its share.
        pending = set(futures)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=0.5)
            report(done, head.count)
        return done + sum([f.result() for f in futures])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# -- in a worker process -------------------------------------------------------------

_counter: Synchronized[int] | None = None


def _share_counter(counter: Synchronized[int]) -> None:
    global _counter
    _counter = counter


def _count(done: int, _total: int) -> None:
    if _counter is not None:
        _counter.value = done


def _work(job: _Job) -> int:
    return asyncio.run(_work_async(job))


async def _work_async(job: _Job) -> int:
    from tousu.services.metrics.projections import by_name

    projections = [by_name(name) for name in job.projections]
    calendar = WorkdayCalendar(job.calendar_years)
    store = await PostgresEventStore.connect(job.dsn, min_size=2, max_size=2)
    try:
        async with store.pool.acquire() as reader, store.pool.acquire() as writer:
            async with reader.transaction(isolation="repeatable_read", readonly=True):
                # Must be the transaction's first statement; the id comes from
                # PostgreSQL itself.
                await reader.execute(f"SET TRANSACTION SNAPSHOT '{job.snapshot}'")
                return await _fill_share(
                    reader, writer, projections, job.head, job.share, calendar, _count
                )
    finally:
        await store.close()
