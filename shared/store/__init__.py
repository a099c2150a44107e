"""The event store: port, PostgreSQL and in-memory adapters, migrations."""

from tousu.shared.store.errors import (
    AlreadyProcessed,
    ConcurrencyConflict,
    EventStoreError,
    IdempotencyViolation,
    UnknownPosition,
)
from tousu.shared.store.port import NO_STREAM, EventStore, UnitOfWork, Wakeup

__all__ = [
    "NO_STREAM",
    "AlreadyProcessed",
    "ConcurrencyConflict",
    "EventStore",
    "EventStoreError",
    "IdempotencyViolation",
    "UnitOfWork",
    "UnknownPosition",
    "Wakeup",
]
