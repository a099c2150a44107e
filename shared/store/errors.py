"""Errors of the event store port."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base of the store's own errors."""


class ConcurrencyConflict(EventStoreError):
    """The stream moved since the caller read it: reload, decide again."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual_version}, "
            f"expected {expected_version}: it was changed concurrently"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class IdempotencyViolation(EventStoreError):
    """Some event ids of an append exist already, but not as this same append."""


class AlreadyProcessed(EventStoreError):
    """A consumer's tracking row exists: the event had its effect already."""

    def __init__(self, consumer: str, event_id: object) -> None:
        super().__init__(f"{consumer} already processed event {event_id}")
        self.consumer = consumer
        self.event_id = event_id


class UnknownPosition(EventStoreError):
    """``read_all(after=…)`` named a position that is not in the store."""
