"""The 3-node NATS cluster of deploy/: R3 streams lose nothing when a node dies under load.

Three local nats-server processes stand in for the cluster of
deploy/compose.yaml and deploy/k8s/ (no container engine here). The real
relay (`tousu service relay`, TOUSU_STREAM_REPLICAS=3) publishes what
concurrent writers append to the store; the node leading the events stream
is SIGKILLed mid-load, which is also the node the relay's TOUSU_NATS_URL
names, so the relay must fail over to a node it only learnt of from the
cluster. Every event must then be in the stream exactly once, in commit
order, a durable consumer reading throughout must get every one, and the
killed node, restarted, must catch up (see below for the second restart it
needs with nats-server 2.15).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections import Counter
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tests.deploy.cluster import NatsCluster
from tests.helpers import eventually
from tests.integration.test_relay import (
    append_complaint,
    assert_published_exactly_once_in_order,
    message_count,
    stored_count,
    stored_in_commit_order,
    stream_messages,
)
from tests.processes import spawn, stop
from tousu.services.relay.message import MSG_ID
from tousu.shared.naming import Naming
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

pytestmark = pytest.mark.timeout(120)

READER = "deploy-reader"
LAST_MSGID_MISMATCH = "last msgid mismatch"


async def streams_created(js: JetStreamContext, naming: Naming) -> bool:
    # Right after the meta leader is elected, placing 3 replicas can still be
    # refused until every peer has reported in.
    try:
        await ensure_streams(js, naming, replicas=3)
        await js.add_consumer(
            naming.events_stream,
            ConsumerConfig(
                durable_name=READER,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=5,
            ),
        )
    except (nats.errors.Error, TimeoutError):
        return False
    return True


async def read_durably(js: JetStreamContext, naming: Naming, seen: Counter[str]) -> None:
    """Fetch and ack from the durable consumer forever, riding out leader changes."""
    sub = await js.pull_subscribe_bind(READER, stream=naming.events_stream)
    while True:
        try:
            messages = await sub.fetch(batch=250, timeout=1)
        except (nats.errors.Error, TimeoutError):
            continue  # no messages now, or the consumer's leader is moving
        for msg in messages:
            seen[(msg.headers or {})[MSG_ID]] += 1
            with contextlib.suppress(nats.errors.Error):
                await msg.ack()


async def test_killing_the_stream_leader_under_load_loses_and_repeats_nothing(
    settings: Settings, store: PostgresEventStore, child_env: dict[str, str], tmp_path: Path
) -> None:
    naming = settings.naming
    cluster = NatsCluster(tmp_path / "nats")
    for node in cluster.nodes:
        cluster.start(node)
    nc = relay = reader = None
    stop_writing = asyncio.Event()
    try:
        await eventually(cluster.has_meta_leader, "a JetStream meta leader", 20)
        nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
        js = nc.jetstream()
        await eventually(lambda: streams_created(js, naming), "the R3 streams", 15)
        info = await js.stream_info(naming.events_stream)
        assert info.config.num_replicas == 3
        assert info.cluster is not None and info.cluster.leader is not None
        leader = cluster.node(info.cluster.leader)

        env = child_env | {"TOUSU_NATS_URL": leader.url, "TOUSU_STREAM_REPLICAS": "3"}
        relay = spawn("relay", env, tmp_path)
        seen: Counter[str] = Counter()
        reader = asyncio.create_task(read_durably(js, naming, seen))

        async def writer(department: str) -> None:
            while not stop_writing.is_set():
                await append_complaint(store, 30, department)

        async def in_stream_at_least(count: int) -> bool:
            try:
                return await message_count(js, naming) >= count
            except (nats.errors.Error, TimeoutError):
                return False  # no stream leader at this moment

        writers = asyncio.gather(*(writer(f"d{i % 3}") for i in range(3)))
        try:
            await eventually(lambda: in_stream_at_least(1000), "1000 relayed events", 20)
            killed_at = await message_count(js, naming)
            cluster.kill(leader)
            t_kill = time.monotonic()
            await eventually(lambda: in_stream_at_least(killed_at + 1), "a publish after", 20)
            failover = time.monotonic() - t_kill
            await eventually(lambda: in_stream_at_least(killed_at + 1000), "1000 more", 20)
            assert not writers.done(), "the node died while events were being appended"
        finally:
            stop_writing.set()
            await writers
        total = await stored_count(store)
        await eventually(lambda: in_stream_at_least(total), f"all {total} events relayed", 20)
        assert_published_exactly_once_in_order(
            await stored_in_commit_order(store), await stream_messages(js, naming), naming
        )
        await eventually(lambda: len(seen) == total, "the durable consumer to read all", 20)
        stored_ids = {str(e.event_id) for e in await stored_in_commit_order(store)}
        assert set(seen) == stored_ids
        new_info = await js.stream_info(naming.events_stream)
        assert new_info.cluster is not None and new_info.cluster.leader != leader.name

        cluster.start(leader)
        t_restart = time.monotonic()
        outcome: list[str] = []

        async def killed_node_settled() -> bool:
            health = await asyncio.to_thread(leader.monitor, "/healthz") or {}
            if LAST_MSGID_MISMATCH in str(health.get("error", "")):
                outcome.append(str(health["error"]))
            elif await cluster.local_messages(leader, naming.events_stream) == total:
                outcome.append("caught up")
            return bool(outcome)

        await eventually(killed_node_settled, "the restarted node to catch up", 20)
        restarts = 1
        if outcome[0] != "caught up":
            restarts = 2
            # nats-server 2.15: the old stream leader, restarted after a
            # SIGKILL, re-applies its log, trips over the relay's
            # Nats-Expected-Last-Msg-Id ("critical write error: last msgid
            # mismatch") and stops applying; its /healthz says so. One more
            # (clean) restart lets it catch up. Publishing with
            # Nats-Expected-Last-Sequence alone does not trip it.
            warnings.warn(f"{leader.name} needed a second restart: {outcome[0]}", stacklevel=1)
            cluster.stop(leader)
            cluster.start(leader)
            outcome.clear()
            await eventually(killed_node_settled, "the node to catch up once restarted again", 20)
            assert outcome == ["caught up"]
        catch_up = time.monotonic() - t_restart
        redelivered = sum(count - 1 for count in seen.values())
        print(
            f"\n{total} events; stream leader {leader.name} killed at {killed_at}; "
            f"next publish {failover:.2f}s later; durable consumer redeliveries {redelivered}; "
            f"killed node caught up {catch_up:.2f}s after its first restart ({restarts} restarts)"
        )
    finally:
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if relay is not None:
            stop(relay)
        if nc is not None:
            await nc.close()
        cluster.stop_all()
