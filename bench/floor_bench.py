"""What the plumbing alone costs: the CPU floor under every handled event.

A consumer's message with no work done (pulled, then acked) — by the batched
pull loop the services' durable consumers run (``tousu.shared.consumer.pull``)
and, as the reference it replaced, by a FastStream pull subscriber configured
as they were, interleaved in the same run — and a
transaction with one small INSERT and an fsync'd commit (client and server
side). Multiplied by the messages and transactions a complaint needs, this is
the least CPU a complaint can cost in this architecture before any handler
runs: the pipeline's figures are read against it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from bench.fleet import backend_cpu_delta, backend_cpu_seconds
from bench.scratch import Scratch
from tousu.shared.consumer.host import FETCH_TIMEOUT, consumer_config, raw_message
from tousu.shared.consumer.pull import PullLoop, PullRoute
from tousu.shared.nats_setup import connect, ensure_streams

WAYS = ("faststream", "pull_loop")
# A stored event's size on the wire, near enough (an accepted complaint).
_PAYLOAD = b'{"event_id": "00000000-0000-0000-0000-000000000000", "data": "' + b"x" * 600 + b'"}'


async def _store_messages(space: Scratch, count: int) -> str:
    naming = space.naming
    subject = naming.event(None, "ComplaintAccepted")
    nc = await connect(space.nats_url, name="tousu-bench-floor")
    try:
        js = nc.jetstream()
        await ensure_streams(js, naming)
        for start in range(0, count, 500):
            acks = [js.publish(subject, _PAYLOAD) for _ in range(min(500, count - start))]
            await asyncio.gather(*acks)
    finally:
        await nc.close()
    return subject


async def _messages(
    space: Scratch, subject: str, count: int, way: str, durable: str
) -> dict[str, Any]:
    """``count`` stored messages consumed from the start by a new durable."""
    consume = _by_faststream if way == "faststream" else _by_pull_loop
    cpu, elapsed = await consume(space, subject, durable, count)
    return {
        "way": way,
        "messages": count,
        "consumer_cpu_ms_per_message": round(1000 * cpu / count, 3),
        "messages_per_s": round(count / elapsed),
    }


class _Acks:
    """The consumer's whole work either way: ack, count, say when all are in."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.handled = 0
        self.done = asyncio.Event()

    async def ack(self, msg: Msg) -> None:
        await msg.ack()
        self.handled += 1
        if self.handled == self.count:
            self.done.set()


async def _by_faststream(
    space: Scratch, subject: str, durable: str, count: int
) -> tuple[float, float]:
    # No logger: this process's stdout is the JSON result.
    broker = NatsBroker(space.nats_url, name="tousu-bench-floor-consumer", logger=None)
    acks = _Acks(count)

    @broker.subscriber(
        subject,
        stream=JStream(space.naming.events_stream, declare=False),
        durable=durable,
        pull_sub=PullSub(batch_size=100, timeout=FETCH_TIMEOUT),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_message,
        no_reply=True,
    )
    async def consume(msg: Any) -> None:
        await acks.ack(msg)

    cpu, started = time.process_time(), time.perf_counter()
    await broker.start()
    try:
        await asyncio.wait_for(acks.done.wait(), timeout=120)
    finally:
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - started
        await broker.stop()
    return cpu, elapsed


async def _by_pull_loop(
    space: Scratch, subject: str, durable: str, count: int
) -> tuple[float, float]:
    nc = await connect(space.nats_url, name="tousu-bench-floor-consumer")
    acks = _Acks(count)
    config = consumer_config(durable, [subject], DeliverPolicy.ALL, 30.0)
    cpu, started = time.process_time(), time.perf_counter()
    await nc.jetstream().add_consumer(space.naming.events_stream, config)
    loop = PullLoop(
        nc,
        PullRoute(space.naming.events_stream, durable, acks.ack),
        batch=100,
        timeout=FETCH_TIMEOUT,
    )
    await loop.start()
    try:
        await asyncio.wait_for(acks.done.wait(), timeout=120)
    finally:
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - started
        await loop.stop()
        await nc.close()
    return cpu, elapsed


async def _transactions(space: Scratch, count: int) -> dict[str, Any]:
    conn = await asyncpg.connect(space.database_url)
    try:
        await conn.execute("CREATE TABLE bench_floor (id uuid PRIMARY KEY)")
        backends = await backend_cpu_seconds(space.database_url)
        cpu, started = time.process_time(), time.perf_counter()
        for _ in range(count):
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_floor VALUES ($1)", uuid.uuid4())
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - started
        server = backend_cpu_delta(backends, await backend_cpu_seconds(space.database_url))
        await conn.execute("DROP TABLE bench_floor")
    finally:
        await conn.close()
    return {
        "transactions": count,
        "client_cpu_ms_per_transaction": round(1000 * cpu / count, 3),
        # None when the server is not on this machine (its CPU is not ours to read).
        "server_cpu_ms_per_transaction": round(1000 * server / count, 3) if server else None,
        "transactions_per_s": round(count / elapsed),
    }


async def run_floor_bench(space: Scratch, quick: bool) -> dict[str, Any]:
    messages = 2_000 if quick else 20_000
    # Interleaved, each round on the same stored messages through a new durable.
    subject = await _store_messages(space, messages)
    rounds = []
    for n in range(1 if quick else 3):
        for way in WAYS:
            durable = f"bench_floor_{way}_{n}"
            rounds.append(await _messages(space, subject, messages, way, durable))
    cpu = {
        way: [r["consumer_cpu_ms_per_message"] for r in rounds if r["way"] == way] for way in WAYS
    }
    return {
        "consume": rounds,
        "pull_loop_cpu_over_faststream": [
            round(p / f, 2) for p, f in zip(cpu["pull_loop"], cpu["faststream"], strict=True)
        ],
        "transaction": await _transactions(space, messages // 4),
    }
