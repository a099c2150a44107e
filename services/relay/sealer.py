"""The relay leader's sealer: seals new events into the hash chain as their
commits' NOTIFYs arrive.

It looks again by itself only as :class:`~tousu.shared.store.postgres.IdleWait`
says (soon while events are held back, else after ``quiet_recheck``), where
:func:`tousu.shared.store.chain.keep_sealed` polls twice a second.
"""

from __future__ import annotations

import asyncio

import asyncpg

from tousu.shared.logs import get_logger
from tousu.shared.store.chain import seal_batch
from tousu.shared.store.postgres import IdleWait, PostgresEventStore

log = get_logger(__name__)

_DB_TROUBLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_RETRY_IN = 1.0  # seconds, after database trouble


async def keep_sealed(
    store: PostgresEventStore,
    *,
    recheck: float,
    quiet_recheck: float,
    gather: float = 0.0,
    limit: int = 5000,
) -> None:
    """Seal events as they become readable, until cancelled; a backlog is
    drained batch after batch without waiting.

    Woken, it lets ``gather`` seconds of commits gather first: sealing is a
    write transaction (holding back every reader of the store while it is
    open), which nobody waits for, so one a second for a trickle of commits
    rather than one after each."""
    while True:
        try:
            async with store.wakeup() as wakeup:
                idle = IdleWait(store, recheck=recheck, quiet_recheck=quiet_recheck)
                while True:
                    async with store.pool.acquire() as conn:
                        sealed = await seal_batch(conn, limit)
                    if sealed < limit:
                        if await idle.wait(wakeup, sealed) and gather:
                            await asyncio.sleep(gather)
        except _DB_TROUBLE as exc:  # the relay's own checks deal with the database
            log.warning("sealing events failed; retrying", error=repr(exc))
        await asyncio.sleep(_RETRY_IN)
