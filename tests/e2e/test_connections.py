"""A service takes at most TOUSU_DATABASE_POOL_SIZE pooled connections (plus
its listening ones): what bounds the connections a test session opens on a
shared PostgreSQL (docs/testing.md)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
from nats.aio.client import Client as NatsClient

from tests.helpers import tousu
from tests.processes import NATS_SERVICES, spawn, stop_all, wait_until_answering
from tousu.shared.settings import Settings

POOL = 1
# Connections a service holds besides its pool: the store's LISTEN for new
# events, the context source's for calendar and staff changes.
LISTENING = 2
# The relay's own small pool (3) and its leader lock.
RELAY = 4
# `tousu demo seed`'s own pool and its context's listening connection, and
# this test's connection.
OURS = 4 + 1 + 1


async def test_services_keep_to_their_pool_size(
    settings: Settings,
    child_env: dict[str, str],
    nats_client: NatsClient,
    database_url: str,
    tmp_path: Path,
) -> None:
    env = child_env | {"TOUSU_DATABASE_POOL_SIZE": str(POOL)}
    names = ("relay", *NATS_SERVICES)
    procs = [spawn(name, env, tmp_path) for name in names]
    conn = await asyncpg.connect(database_url)
    peak = 0
    try:
        deadline = time.monotonic() + 60
        for name in NATS_SERVICES:
            await wait_until_answering(nats_client, settings.naming, name, deadline)
        seeding = asyncio.create_task(tousu(env, "demo", "seed", "--n", "8", "--seed", "2"))
        while not seeding.done():
            count = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            peak = max(peak, int(count))
            await asyncio.sleep(0.05)  # sampling while the seed runs, not synchronising
        # The seed is the load here: whether every lifecycle ends is
        # tests/e2e/test_demo_seed.py's business.
        _, out, err = await seeding
        assert "合计" in out, out + err
    finally:
        await conn.close()
        stop_all(procs)
    bound = RELAY + len(NATS_SERVICES) * (POOL + LISTENING) + OURS
    assert 0 < peak <= bound, (peak, bound)
