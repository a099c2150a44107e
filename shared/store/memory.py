"""In-memory event store for domain unit tests; same contract as PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from tousu.shared.events import Envelope, NewEvent, stored, utcnow
from tousu.shared.store.errors import (
    AlreadyProcessed,
    ConcurrencyConflict,
    IdempotencyViolation,
    UnknownPosition,
)
from tousu.shared.store.port import EventStore, UnitOfWork, Wakeup


class _MemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: InMemoryEventStore) -> None:
        self._store = store
        self._pending: list[Envelope] = []
        self._tracking: list[tuple[str, uuid.UUID]] = []
        self._appends = 0

    @property
    def writes(self) -> int:
        return self._appends

    def _version(self, stream_id: str) -> int:
        stored = len(self._store._streams.get(stream_id, []))
        return stored + sum(1 for e in self._pending if e.stream_id == stream_id)

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        if not events:
            return []
        by_id = self._store._by_id
        existing = [by_id[e.event_id] for e in events if e.event_id in by_id]
        if existing:
            return _idempotent(stream_id, events, existing)
        actual = self._version(stream_id)
        if actual != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        self._appends += 1
        out = []
        for offset, event in enumerate(events, start=1):
            self._store._position += 1
            out.append(
                stored(
                    event,
                    stream_id=stream_id,
                    version=expected_version + offset,
                    global_position=self._store._position,
                    recorded_at=utcnow(),
                )
            )
        self._pending.extend(out)
        return out

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        stored = self._store._streams.get(stream_id, [])
        pending = [e for e in self._pending if e.stream_id == stream_id]
        return [e for e in [*stored, *pending] if e.version >= from_version]

    async def processed_among(
        self, consumer: str, event_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        return {i for i in event_ids if (consumer, i) in self._store._processed}

    async def mark_processed(self, consumer: str, event_id: uuid.UUID) -> None:
        self._tracking.append((consumer, event_id))

    def _commit(self) -> None:
        store = self._store
        seen: set[tuple[str, uuid.UUID]] = set()
        for key in self._tracking:
            if key in store._processed or key in seen:
                raise AlreadyProcessed(*key)
            seen.add(key)
        store._processed.update(self._tracking)
        for envelope in self._pending:
            store._streams.setdefault(envelope.stream_id, []).append(envelope)
            store._by_id[envelope.event_id] = envelope
            store._log.append(envelope)
        if self._pending:
            for wakeup in store._wakeups:
                wakeup.wake()


def _idempotent(
    stream_id: str, events: Sequence[NewEvent], existing: Sequence[Envelope]
) -> list[Envelope]:
    same = len(existing) == len(events) and all(
        e.stream_id == stream_id and e.event_id == n.event_id
        for e, n in zip(existing, events, strict=True)
    )
    if not same:
        raise IdempotencyViolation(
            f"append to {stream_id}: some event ids are stored already as a different append"
        )
    return list(existing)


class InMemoryEventStore(EventStore):
    def __init__(self) -> None:
        self._streams: dict[str, list[Envelope]] = {}
        self._by_id: dict[uuid.UUID, Envelope] = {}
        self._log: list[Envelope] = []
        self._processed: set[tuple[str, uuid.UUID]] = set()
        self._checkpoints: dict[str, int] = {}
        self._wakeups: set[Wakeup] = set()
        self._position = 0
        # Serialises units of work, which makes commit order = position order.
        self._lock = asyncio.Lock()

    def _version(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, []))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self._lock:
            uow = _MemoryUnitOfWork(self)
            position = self._position
            try:
                yield uow
                uow._commit()
            except BaseException:
                self._position = position
                raise

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        return [e for e in self._streams.get(stream_id, []) if e.version >= from_version]

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        # Positions here are 1..n without holes: a rolled-back unit of work
        # hands its numbers back.
        if not 0 <= after <= len(self._log):
            raise UnknownPosition(f"no event at global position {after}")
        return self._log[after : after + limit]

    @asynccontextmanager
    async def wakeup(self) -> AsyncIterator[Wakeup]:
        wakeup = Wakeup()
        self._wakeups.add(wakeup)
        try:
            yield wakeup
        finally:
            self._wakeups.discard(wakeup)

    async def get_checkpoint(self, name: str) -> int:
        return self._checkpoints.get(name, 0)

    async def set_checkpoint(self, name: str, position: int) -> None:
        self._checkpoints[name] = position

    async def close(self) -> None:
        return None
