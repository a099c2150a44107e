from __future__ import annotations

import pytest

from tests.contract.store_contract import EventStoreContract, events, stream
from tousu.shared.store import NO_STREAM, ConcurrencyConflict
from tousu.shared.store.postgres import PostgresEventStore


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self, store: PostgresEventStore) -> PostgresEventStore:
        return store


async def test_a_stream_never_continues_in_an_older_transaction(
    store: PostgresEventStore,
) -> None:
    """Readers take commits in transaction-id order: a transaction that wrote
    before it read a stream must not append after a head that a younger
    transaction wrote, or the stream's events would be read out of order."""
    other, contended = stream(), stream()
    with pytest.raises(ConcurrencyConflict):
        async with store.unit_of_work() as older:
            await older.append(other, NO_STREAM, events(1))  # its id is fixed here
            await store.append(contended, NO_STREAM, events(1))  # a younger one commits
            head = await older.read_stream(contended)
            await older.append(contended, len(head), events(1))
    assert await store.read_stream(other) == []
    # Decided again in a transaction of its own, the append goes through, in order.
    await store.append(contended, 1, events(1))
    positions = await store.pool.fetch(
        "SELECT version FROM events WHERE stream_id = $1 ORDER BY tx_id, global_position",
        contended,
    )
    assert [r["version"] for r in positions] == [1, 2]
