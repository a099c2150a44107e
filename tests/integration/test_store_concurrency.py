"""read_all under concurrent writers: nothing skipped, nothing twice, commit order."""

from __future__ import annotations

import asyncio
import bisect
import random
import time
import uuid
from dataclasses import dataclass

from tousu.shared.events import NewEvent
from tousu.shared.store import EventStore
from tousu.shared.store.postgres import PostgresEventStore

WRITERS = 8
APPENDS = 10_000


@dataclass
class Append:
    event_id: uuid.UUID
    writer: int
    started: float
    committed: float


async def _writer(store: EventStore, writer: int, count: int, log: list[Append]) -> None:
    rng = random.Random(writer)
    stream = f"complaint-{uuid.uuid4()}"
    for version in range(count):
        event = NewEvent(type="ProgressReported", data={"writer": writer, "n": version})
        started = time.monotonic()
        async with store.unit_of_work() as uow:
            await uow.append(stream, version, [event])
            if rng.random() < 0.02:
                # Hold the transaction open so later transactions commit
                # before this one: the late-commit case read_all must not skip.
                await asyncio.sleep(rng.uniform(0.005, 0.05))
        log.append(Append(event.event_id, writer, started, time.monotonic()))


async def _reader(store: EventStore, expected: int, seen: list[uuid.UUID]) -> int:
    after, reads = 0, 0
    async with store.wakeup() as wakeup:
        deadline = time.monotonic() + 240
        while len(seen) < expected:
            assert time.monotonic() < deadline, f"reader saw only {len(seen)} events"
            page = await store.read_all(after=after, limit=500)
            reads += 1
            if page:
                seen.extend(e.event_id for e in page)
                after = page[-1].global_position
            else:
                await wakeup.wait(1.0)
    return reads


async def test_concurrent_writers_and_reader(database_url: str) -> None:
    store = await PostgresEventStore.connect(
        database_url, min_size=WRITERS + 2, max_size=WRITERS + 2
    )
    try:
        log: list[Append] = []
        seen: list[uuid.UUID] = []
        reader = asyncio.create_task(_reader(store, APPENDS, seen))
        await asyncio.gather(*(_writer(store, w, APPENDS // WRITERS, log) for w in range(WRITERS)))
        reads = await asyncio.wait_for(reader, 120)

        # Every event exactly once.
        assert len(seen) == APPENDS
        assert len(set(seen)) == APPENDS
        assert set(seen) == {a.event_id for a in log}

        # The live reader's order is the store's one stable order: a fresh full
        # read gives the same sequence, so nothing was inserted behind it.
        full: list[uuid.UUID] = []
        after = 0
        while page := await store.read_all(after=after, limit=2000):
            full.extend(e.event_id for e in page)
            after = page[-1].global_position
        assert full == seen

        # Commit order: an append that committed before another started is
        # read before it (per writer, and across writers).
        index = {event_id: i for i, event_id in enumerate(seen)}
        by_commit = sorted(log, key=lambda a: a.committed)
        commit_times = [a.committed for a in by_commit]
        prefix_max = []
        best = -1
        for a in by_commit:
            best = max(best, index[a.event_id])
            prefix_max.append(best)
        for b in log:
            k = bisect.bisect_left(commit_times, b.started)
            if k:
                assert prefix_max[k - 1] < index[b.event_id]
        assert reads > 1
    finally:
        await store.close()
