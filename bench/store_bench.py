"""Event store throughput: appends (single and batched), read_all.

Prints one JSON object. Run by `tousu bench store` (or `--quick` for a small size).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tousu.shared.events import NewEvent
from tousu.shared.store.postgres import PostgresEventStore


def _event(i: int) -> NewEvent:
    return NewEvent(
        type="ProgressReported",
        data={"progress": f"已联系责任单位，进展 {i}", "notify_complainant": True},
    )


async def _append_single(store: PostgresEventStore, total: int, writers: int) -> dict[str, Any]:
    """One event per transaction, ``writers`` concurrent connections."""

    async def writer(count: int) -> None:
        stream = f"complaint-{uuid.uuid4()}"
        for version in range(count):
            await store.append(stream, version, [_event(version)])

    per = total // writers
    started = time.perf_counter()
    await asyncio.gather(*(writer(per) for _ in range(writers)))
    elapsed = time.perf_counter() - started
    n = per * writers
    return {
        "events": n,
        "writers": writers,
        "seconds": round(elapsed, 3),
        "events_per_s": round(n / elapsed),
        "transactions_per_s": round(n / elapsed),
    }


async def _append_batched(
    store: PostgresEventStore, total: int, writers: int, batch: int
) -> dict[str, Any]:
    async def writer(count: int) -> None:
        stream = f"complaint-{uuid.uuid4()}"
        version = 0
        for _ in range(count):
            await store.append(stream, version, [_event(version + k) for k in range(batch)])
            version += batch

    per = total // (writers * batch)
    started = time.perf_counter()
    await asyncio.gather(*(writer(per) for _ in range(writers)))
    elapsed = time.perf_counter() - started
    n = per * writers * batch
    return {
        "events": n,
        "writers": writers,
        "batch": batch,
        "seconds": round(elapsed, 3),
        "events_per_s": round(n / elapsed),
        "transactions_per_s": round(n / batch / elapsed),
    }


async def _read_all(store: PostgresEventStore, page: int) -> dict[str, Any]:
    started = time.perf_counter()
    after, n = 0, 0
    while events := await store.read_all(after=after, limit=page):
        n += len(events)
        after = events[-1].global_position
    elapsed = time.perf_counter() - started
    return {
        "events": n,
        "page": page,
        "seconds": round(elapsed, 3),
        "events_per_s": round(n / elapsed),
    }


async def run_store_bench(database_url: str, quick: bool) -> dict[str, Any]:
    single = 2_000 if quick else 20_000
    batched = 10_000 if quick else 200_000
    store = await PostgresEventStore.connect(database_url, min_size=10, max_size=10)
    try:
        return {
            "append_single": await _append_single(store, single, writers=8),
            "append_single_one_writer": await _append_single(store, single // 4, writers=1),
            "append_batched": await _append_batched(store, batched, writers=8, batch=50),
            "read_all": await _read_all(store, page=1000),
        }
    finally:
        await store.close()
