"""An idle relay waits for NOTIFY: its publisher and its sealer look again by
themselves soon only while events are held back behind an open transaction,
else after ``quiet_recheck`` (``IdleWait`` in shared/store/postgres.py); a closed LISTEN
connection is noticed at once.

Before, both looked every ``TOUSU_STORE_IDLE_RECHECK`` seconds (2 s) and the
sealer every half second, whatever the store held: a quiet system's relay
made about four transactions a second. A LISTEN connection that closed went
unnoticed, the 2 s looks standing in for the NOTIFYs that no longer came.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.helpers import eventually
from tousu.services.relay.publisher import Relay
from tousu.services.relay.sealer import keep_sealed
from tousu.shared.events import NewEvent, complaint_stream
from tousu.shared.settings import Settings
from tousu.shared.store import Wakeup
from tousu.shared.store.postgres import PostgresEventStore
from tousu.shared.tasks import cancel_and_wait

pytestmark = pytest.mark.timeout(60)

RECHECK = 0.05
QUIET = 3600.0  # longer than any test: a look after it never happens here


class Watched(PostgresEventStore):
    """The real store (the test's pool), recording how long its idle readers
    wait for a NOTIFY."""

    def __init__(self, store: PostgresEventStore) -> None:
        super().__init__(store.pool, store.dsn)
        self.timeouts: list[float] = []

    @contextlib.asynccontextmanager
    async def wakeup(self) -> AsyncIterator[Wakeup]:
        async with super().wakeup() as wakeup:
            wait = wakeup.wait

            async def recorded(timeout: float) -> bool:
                self.timeouts.append(timeout)
                return await wait(timeout)

            wakeup.wait = recorded  # type: ignore[method-assign]
            yield wakeup

    def waiting_quietly(self) -> bool:
        return bool(self.timeouts) and self.timeouts[-1] == QUIET


def events(count: int) -> list[NewEvent]:
    return [NewEvent(type="ProgressReported", data={"note": f"step {i}"}) for i in range(count)]


async def published(js: JetStreamContext, settings: Settings, count: int) -> bool:
    info = await js.stream_info(settings.naming.events_stream)
    return int(info.state.messages) == count


@contextlib.asynccontextmanager
async def blocker(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A writing transaction left open: events committed after it are held back."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("BEGIN")
        await conn.fetchval("SELECT pg_current_xact_id()")  # it has a transaction id now
        yield conn
    finally:
        await conn.close()  # rolled back: no NOTIFY


@contextlib.asynccontextmanager
async def relaying(relay: Relay) -> AsyncIterator[Relay]:
    running = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await cancel_and_wait(running)
        await relay.close()


async def test_an_idle_relay_waits_for_notify_and_rechecks_only_what_is_held_back(
    settings: Settings,
    database_url: str,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
) -> None:
    watched = Watched(store)
    relay = Relay(watched, nats_client, settings.naming, idle_recheck=RECHECK, quiet_recheck=QUIET)
    async with relaying(relay):
        await store.append(complaint_stream(uuid.uuid4()), 0, events(3))
        # Any writing transaction on the shared server holds events back: patience.
        await eventually(lambda: published(js, settings, 3), "3 published", 30)
        # Nothing more to read and nothing held back: it waits for a NOTIFY.
        await eventually(watched.waiting_quietly, "the relay to wait quietly", 15)
        await store.append(complaint_stream(uuid.uuid4()), 0, events(2))
        await eventually(lambda: published(js, settings, 5), "2 more, on their NOTIFY", 30)

        await eventually(watched.waiting_quietly, "the relay to wait quietly again", 15)
        async with blocker(database_url):
            quiet = len(watched.timeouts)
            await store.append(complaint_stream(uuid.uuid4()), 0, events(1))

            def rechecking() -> bool:
                return len(watched.timeouts) > quiet + 2 and watched.timeouts[-1] == RECHECK

            # Woken, it cannot read the event yet: it looks again soon.
            await eventually(rechecking, "the relay to recheck the held-back event")
        # The blocker rolled back, which sends no NOTIFY: a recheck finds the event.
        await eventually(lambda: published(js, settings, 6), "the held-back event", 30)
        await eventually(watched.waiting_quietly, "the relay to wait quietly at last", 15)


async def test_a_relay_whose_listen_connection_closes_listens_again(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
) -> None:
    watched = Watched(store)
    relay = Relay(
        watched,
        nats_client,
        settings.naming,
        idle_recheck=RECHECK,
        quiet_recheck=QUIET,
        backoff_base=0.05,
    )
    async with relaying(relay):
        await eventually(watched.waiting_quietly, "the relay to wait quietly", 15)
        killed = await store.pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        assert killed == 1
        # Listening anew, it reads what may have come meanwhile, then waits again.
        await eventually(lambda: relay.stats.failures == 1, "the loss to be noticed")
        await eventually(watched.waiting_quietly, "the relay to wait quietly again", 15)
        await store.append(complaint_stream(uuid.uuid4()), 0, events(2))
        await eventually(lambda: published(js, settings, 2), "2 published, on their NOTIFY", 30)


async def _sealed(store: PostgresEventStore) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM event_seals"))


async def test_the_sealer_seals_on_notify_and_rechecks_only_what_is_held_back(
    database_url: str, store: PostgresEventStore
) -> None:
    watched = Watched(store)
    sealer = asyncio.create_task(keep_sealed(watched, recheck=RECHECK, quiet_recheck=QUIET))
    try:
        await eventually(watched.waiting_quietly, "the sealer to wait quietly", 15)
        await store.append(complaint_stream(uuid.uuid4()), 0, events(4))

        async def sealed(count: int) -> bool:
            return await _sealed(store) == count

        await eventually(lambda: sealed(4), "4 sealed, on their NOTIFY", 30)
        await eventually(watched.waiting_quietly, "the sealer to wait quietly again", 15)
        async with blocker(database_url):
            quiet = len(watched.timeouts)
            await store.append(complaint_stream(uuid.uuid4()), 0, events(1))

            def rechecking() -> bool:
                return len(watched.timeouts) > quiet + 2 and watched.timeouts[-1] == RECHECK

            await eventually(rechecking, "the sealer to recheck the held-back event")
            assert await _sealed(store) == 4
        await eventually(lambda: sealed(5), "the held-back event sealed", 30)
        await eventually(watched.waiting_quietly, "the sealer to wait quietly at last", 15)
    finally:
        await cancel_and_wait(sealer)


async def test_the_sealer_lets_a_trickle_of_commits_gather_into_one_seal(
    store: PostgresEventStore,
) -> None:
    """Sealing is a write transaction: woken by a commit, the sealer waits
    ``gather`` seconds, so commits made meanwhile are sealed with it, in one."""
    watched = Watched(store)
    sealer = asyncio.create_task(
        keep_sealed(watched, recheck=RECHECK, quiet_recheck=QUIET, gather=1.0)
    )
    try:
        await eventually(watched.waiting_quietly, "the sealer to wait quietly", 15)
        quiet = len(watched.timeouts)
        for _ in range(5):  # within the gather time of the first
            await store.append(complaint_stream(uuid.uuid4()), 0, events(1))

        async def sealed() -> bool:
            return await _sealed(store) == 5

        await eventually(sealed, "the five sealed", 30)
        rows = await store.pool.fetch("SELECT DISTINCT xmin::text FROM event_seals")
        # One transaction sealed them all; two if one of them was still held
        # back behind another transaction on the shared server at the time.
        assert len(rows) <= 2
        assert len(watched.timeouts) > quiet
    finally:
        await cancel_and_wait(sealer)
