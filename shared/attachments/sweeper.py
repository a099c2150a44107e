"""The sweep, run by itself: a running service removes the stored files no
event refers to every ``TOUSU_ATTACHMENTS_SWEEP_INTERVAL`` seconds, so an
upload whose command failed outlives its grace period by one interval at most.

One replica sweeps at a time: a tick holds a transaction-scoped advisory lock
and a replica that finds it taken skips the tick (the other is doing the
work; the next tick starts afresh). A sweep repeated by another replica right
after finds nothing left to remove.

Cheap when nothing changed: a tick lists the store first and reads the events
only when a file old enough to go is not already known to be referenced.
Events are only appended, so a file once seen referenced stays referenced and
the names seen are kept between ticks. A quiet tick therefore costs one
listing of the store (a walk of the data folder, or the bucket's list pages)
and no query over the events; a tick with a candidate costs one scan of the
events that carry files (``referenced``) as ``tousu attachments sweep`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import CollectorRegistry, Counter

from tousu.shared.attachments.store import BlobStore, LocalStore
from tousu.shared.attachments.sweep import Swept, referenced_names, sweep
from tousu.shared.events import utcnow
from tousu.shared.logs import get_logger

log = get_logger(__name__)

# "tousu" in ASCII, then the sweep's own number (the event sealer's is 0xC4).
SWEEP_LOCK_KEY = 0x746F757375_00A7


class Sweeper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: BlobStore,
        *,
        grace: timedelta,
        interval: float,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._pool = pool
        self._store = store
        self._grace = grace
        self._interval = interval
        self._clock = clock
        self._known: set[str] = set()  # names events refer to (they stay referred to)
        self._swept = Counter(
            "tousu_attachments_swept",
            "Stored files the periodic sweep removed: unreferenced uploads past the grace "
            "period, and temporary files a crash left mid-write",
            ["kind"],
            registry=registry,
        )
        self._swept.labels("unreferenced")
        self._swept.labels("leftover")

    async def _candidates(self, cutoff: datetime) -> bool:
        """Is anything old enough to go and not known to be referenced?"""
        async for blob in self._store.listing():
            if blob.modified_at <= cutoff and blob.name not in self._known:
                return True
        if isinstance(self._store, LocalStore):
            for temp in self._store.leftovers():
                if datetime.fromtimestamp(temp.stat().st_mtime, cutoff.tzinfo) <= cutoff:
                    return True
        return False

    async def tick(self) -> Swept | None:
        """One sweep; None when another replica holds the lock."""
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SWEEP_LOCK_KEY):
                log.debug("attachment sweep skipped: another replica is sweeping")
                return None
            if not await self._candidates(now - self._grace):
                log.debug("attachment sweep: nothing to remove")
                return Swept()
            wanted = await referenced_names(conn)
            swept = await sweep(conn, self._store, grace=self._grace, now=now, wanted=wanted)
        self._known = wanted
        self._swept.labels("unreferenced").inc(len(swept.removed))
        self._swept.labels("leftover").inc(swept.leftovers)
        if swept.removed or swept.leftovers:
            log.info(
                "attachment sweep removed files",
                removed=swept.removed,
                leftovers=swept.leftovers,
                kept=swept.kept,
            )
        else:
            log.debug("attachment sweep: nothing to remove", kept=swept.kept)
        return swept

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("attachment sweep failed; retrying", error=str(exc))
            await asyncio.sleep(self._interval)
