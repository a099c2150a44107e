"""Relay throughput: events/s from the store to JetStream (PubAck'd, in commit order)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from bench.scratch import Scratch
from tousu.services.relay.publisher import Relay
from tousu.shared.events import NewEvent
from tousu.shared.nats_setup import connect, ensure_streams
from tousu.shared.store.postgres import PostgresEventStore


async def _prestore(store: PostgresEventStore, total: int, per_stream: int) -> None:
    async def fill(streams: int) -> None:
        for _ in range(streams):
            events = [
                NewEvent(type="ProgressReported", data={"progress": f"进展 {i}"})
                for i in range(per_stream)
            ]
            await store.append(f"complaint-{uuid.uuid4()}", 0, events)

    streams = total // per_stream
    workers = 8
    await asyncio.gather(*(fill(streams // workers) for _ in range(workers)))


async def run_relay_bench(space: Scratch, quick: bool) -> dict[str, Any]:
    total = 5_000 if quick else 100_000
    batch = 500
    store = await PostgresEventStore.connect(space.database_url, min_size=8, max_size=8)
    nc = await connect(space.nats_url, name="tousu-bench-relay")
    try:
        await ensure_streams(nc.jetstream(), space.naming)
        await _prestore(store, total, per_stream=20)
        relay = Relay(store, nc, space.naming, batch_size=batch)
        started = time.perf_counter()
        await relay.resume()
        sent = await relay.run_until_caught_up()
        elapsed = time.perf_counter() - started
        await relay.close()
        return {
            "events": sent,
            "batch": batch,
            "seconds": round(elapsed, 3),
            "events_per_s": round(sent / elapsed),
        }
    finally:
        await nc.close()
        await store.close()
