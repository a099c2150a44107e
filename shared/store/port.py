"""The event store port: what services, the relay and projections depend on.

Two adapters implement it: :mod:`tousu.shared.store.postgres` (the real one) and
:mod:`tousu.shared.store.memory` (for domain unit tests). Both pass one contract
suite (``tests/contract/store_contract.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from tousu.shared.events import Envelope, NewEvent

NO_STREAM = 0  # expected_version for a stream that must not exist yet


class UnitOfWork(ABC):
    """One atomic change: appends plus the consumer tracking row, all or nothing."""

    @abstractmethod
    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        """Append ``events`` after ``expected_version``.

        Raises :class:`~tousu.shared.store.errors.ConcurrencyConflict` when the stream
        is not at ``expected_version``. Appending events whose ids are all stored
        already, as this same append, changes nothing and returns the stored
        envelopes (a retried command is harmless).
        """

    @abstractmethod
    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]: ...

    async def prefetch(self, stream_ids: Sequence[str]) -> None:
        """Read ``stream_ids`` now, in one go, for the :meth:`read_stream` calls
        to come in this unit of work (a consumer's batch); a hint a store may
        ignore."""
        return None

    @property
    @abstractmethod
    def writes(self) -> int:
        """How many writes this unit of work holds so far (appends, and rows
        deferred to its commit): compared before and after a handler, whether
        the handler changed anything."""

    async def is_processed(self, consumer: str, event_id: uuid.UUID) -> bool:
        return event_id in await self.processed_among(consumer, [event_id])

    @abstractmethod
    async def processed_among(
        self, consumer: str, event_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of ``event_ids`` ``consumer`` has handled (committed ones only)."""

    @abstractmethod
    async def mark_processed(self, consumer: str, event_id: uuid.UUID) -> None:
        """Record that ``consumer`` handled ``event_id``; commits with the appends.

        Raises :class:`~tousu.shared.store.errors.AlreadyProcessed` (and nothing is
        committed) when another delivery of the same event won the race, or
        when this unit of work marks one event twice.
        """


class Wakeup:
    """Wakes a reader when new events may be readable (LISTEN/NOTIFY).

    A wake-up that arrives while the reader is busy is kept, so the reader's
    next :meth:`wait` returns at once and no commit goes unnoticed. When the
    connection that listens closes, the reader is woken too and :attr:`lost`
    is set: no NOTIFY comes any more until it listens again.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.lost = False

    def wake(self, *_: object) -> None:
        self._event.set()

    def lose(self, *_: object) -> None:
        """The listening connection closed."""
        self.lost = True
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """Return True when woken, False after ``timeout`` seconds."""
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
            # cancellation that arrives as the wait ends (cpython#86296).
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


class EventStore(ABC):
    @abstractmethod
    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        async with self.unit_of_work() as uow:
            return await uow.append(stream_id, expected_version, events)

    @abstractmethod
    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]: ...

    @abstractmethod
    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        """Events after position ``after`` in commit order, at most ``limit``.

        ``after`` is 0 or the ``global_position`` of an event this method
        returned. Never returns an event twice and never skips one whose
        transaction commits late.
        """

    @abstractmethod
    def wakeup(self) -> AbstractAsyncContextManager[Wakeup]:
        """A listener that is woken after each commit that appended events."""

    @abstractmethod
    async def get_checkpoint(self, name: str) -> int: ...

    @abstractmethod
    async def set_checkpoint(self, name: str, position: int) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...
