"""Which departments have an active webhook, kept in memory for the webhooks
consumer: an event of a department without one is acked with no transaction.

``tousu webhooks add`` and ``remove`` send a NOTIFY on ``CHANGED`` after their
change; the set is read again on it (and when the listening connection is
made again, and every ``RECHECK`` seconds as a net for a NOTIFY lost). Until
the first read the set is unknown, and every event goes to the consumer's
transaction, which checks the table itself. A webhook added takes effect for
the events handled once its NOTIFY has arrived (milliseconds);
``tousu webhooks replay`` sends a department what came before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tousu.services.followup.webhooks import payload
from tousu.services.followup.webhooks.endpoints import CHANGED, active_departments
from tousu.services.followup.woken_rounds import MAX_PAUSE, run_woken_rounds
from tousu.shared.events import Envelope
from tousu.shared.tasks import cancel_and_wait

RECHECK = 60.0


class ActiveDepartments:
    def __init__(self) -> None:
        self.departments: frozenset[str] | None = None  # None: not read yet

    def wants(self, envelope: Envelope) -> bool:
        """Whether ``envelope`` may need a delivery (its department's webhook is active)."""
        department = payload.target(envelope)
        if department is None:
            return False
        return self.departments is None or department in self.departments

    async def read(self, pool: asyncpg.Pool) -> None:
        self.departments = await active_departments(pool)

    @asynccontextmanager
    async def kept(self, pool: asyncpg.Pool, database_url: str) -> AsyncIterator[None]:
        """Kept up to date while the ``async with`` lasts."""

        async def round_() -> bool:
            await self.read(pool)
            return False

        async def idle_timeout() -> float:
            return RECHECK

        task = asyncio.create_task(
            run_woken_rounds(
                database_url=database_url,
                channel=CHANGED,
                round_=round_,
                idle_timeout=idle_timeout,
                max_pause=MAX_PAUSE,
                failed="reading the active webhooks failed; retrying",
            )
        )
        try:
            yield
        finally:
            await cancel_and_wait(task)
