"""The hash chain's cost: append throughput with and without the sealer
running beside the writers, sealing speed, and verification speed.

Prints one JSON object: ``python -m bench.chain_bench [events]`` with
``TOUSU_DATABASE_URL`` pointing at a server (a scratch database is made
beside it and dropped after).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tousu.database import prepare_database
from tousu.shared.events import NewEvent
from tousu.shared.store.chain import keep_sealed, seal_all
from tousu.shared.store.chain_verify import verify_chain
from tousu.shared.store.postgres import PostgresEventStore
from tousu.shared.tasks import cancel_and_wait

WRITERS = 8


def _event(i: int) -> NewEvent:
    return NewEvent(type="ProgressReported", data={"progress": f"已联系责任单位，进展 {i}"})


async def _append(store: PostgresEventStore, total: int, *, sealing: bool) -> float:
    """Events a second, one event a transaction from ``WRITERS`` writers."""

    async def writer(count: int) -> None:
        stream = f"complaint-{uuid.uuid4()}"
        for version in range(count):
            await store.append(stream, version, [_event(version)])

    sealer = asyncio.create_task(keep_sealed(store.pool)) if sealing else None
    started = time.perf_counter()
    await asyncio.gather(*(writer(total // WRITERS) for _ in range(WRITERS)))
    elapsed = time.perf_counter() - started
    if sealer is not None:
        await cancel_and_wait(sealer)
    return total / elapsed


async def _fill(store: PostgresEventStore, total: int) -> None:
    batch = 500
    streams = total // batch
    for _ in range(streams):
        await store.append(f"complaint-{uuid.uuid4()}", 0, [_event(k) for k in range(batch)])


async def run_chain_bench(server_url: str, events: int) -> dict[str, Any]:
    name = f"tousu_bench_chain_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await prepare_database(url)
        store = await PostgresEventStore.connect(url, min_size=10, max_size=10)
        try:
            rounds: dict[str, list[float]] = {"plain": [], "sealing": []}
            for _ in range(3):  # alternated: the machine's load drifts
                rounds["plain"].append(await _append(store, 2000, sealing=False))
                rounds["sealing"].append(await _append(store, 2000, sealing=True))
            async with store.pool.acquire() as conn:
                await seal_all(conn)
            await _fill(store, events)
            async with store.pool.acquire() as conn:
                started = time.perf_counter()
                sealed = await seal_all(conn)
                seal_s = time.perf_counter() - started
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    started = time.perf_counter()
                    report = await verify_chain(conn)
                    verify_s = time.perf_counter() - started
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {
        "append_single_8_writers_events_per_s": {
            k: [round(v) for v in runs] for k, runs in rounds.items()
        },
        "sealed": sealed,
        "seal_events_per_s": round(sealed / seal_s),
        "verified": report.verified,
        "intact": report.intact,
        "verify_seconds": round(verify_s, 2),
        "verify_events_per_s": round(report.verified / verify_s),
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    result = asyncio.run(run_chain_bench(os.environ["TOUSU_DATABASE_URL"], count))
    print(json.dumps(result, ensure_ascii=False, indent=2))
