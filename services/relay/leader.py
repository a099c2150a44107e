"""Leader election: whoever holds a PostgreSQL advisory lock is the active relay.

The lock belongs to a session, so it is freed the moment the leader's
connection ends, whether the process exited, was killed or lost the network;
a standby retrying ``pg_try_advisory_lock`` then takes over.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from tousu.shared.logs import get_logger
from tousu.shared.tasks import cancel_and_wait, run_until

log = get_logger(__name__)

# One active relay per database; "tousu" in ASCII, then 1.
RELAY_LOCK_KEY = 0x746F757375_0001

_DB_TROUBLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Lease:
    """A held leadership; :attr:`lost` is set as soon as its session is gone."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()

    async def hold(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` until it ends or the leadership is lost.

        When this returns ``work`` has stopped: nothing more is published.
        """
        await run_until(work, self.lost)


class AdvisoryLeader:
    def __init__(
        self,
        dsn: str,
        *,
        key: int = RELAY_LOCK_KEY,
        retry_interval: float = 0.5,
        check_interval: float = 10.0,
        check_timeout: float = 2.0,
        name: str | None = None,
    ) -> None:
        self._dsn = dsn
        self._key = key
        self._retry_interval = retry_interval
        self._check_interval = check_interval
        self._check_timeout = check_timeout
        # Shown in pg_stat_activity, so an operator can see which relay leads.
        self.name = name or f"tousu-relay pid={os.getpid()}"

    @asynccontextmanager
    async def lead(self) -> AsyncIterator[Lease]:
        """Wait until this process is the leader; leadership ends with the block."""
        conn = await self._acquire()
        lease = Lease()
        conn.add_termination_listener(lambda _conn: lease.lost.set())
        watchdog = asyncio.create_task(self._watch(conn, lease))
        log.info("relay leadership acquired", lock_session=self.name)
        try:
            yield lease
        finally:
            lost = lease.lost.is_set()  # before closing, which sets it too
            await cancel_and_wait(watchdog)
            await _close(conn)  # ending the session frees the lock
            log.info("relay leadership ended", lost=lost)

    async def _acquire(self) -> asyncpg.Connection:
        announced = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": self.name}
                )
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key):
                    if not announced:
                        log.info("relay standing by: another relay is the leader")
                        announced = True
                    await asyncio.sleep(self._retry_interval)
                result, conn = conn, None
                return result
            except _DB_TROUBLE as exc:
                log.warning("relay election: database trouble", error=repr(exc))
                await asyncio.sleep(self._retry_interval)
            finally:
                if conn is not None:
                    conn.terminate()

    async def _watch(self, conn: asyncpg.Connection, lease: Lease) -> None:
        # The termination listener catches a closed socket; this catches a
        # connection that hangs without closing. Every ``check_interval``, not
        # every second: a hung session keeps its lock on the server until the
        # server drops it, and while it does no standby can lead; the check
        # only bounds how long this process publishes after the server has
        # dropped the session unseen, and two publishers at once cannot
        # disorder the stream (each message names its predecessor).
        while not lease.lost.is_set():
            await asyncio.sleep(self._check_interval)
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), self._check_timeout)
            except _DB_TROUBLE as exc:
                log.warning("relay leadership connection failed", error=repr(exc))
                lease.lost.set()


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 2.0)
    except _DB_TROUBLE:
        pass  # a dead or hung session: dropping the socket below ends it
    finally:
        if not conn.is_closed():
            conn.terminate()
