"""A consumer's batch reads its streams in one query (PgUnitOfWork.prefetch):
later reads in the unit of work are served from it, its own appends included,
and a stream that moved after it is refused at the append, as ever."""

from __future__ import annotations

import uuid

import pytest

from tousu.shared.events import NewEvent
from tousu.shared.store import ConcurrencyConflict
from tousu.shared.store.postgres import PostgresEventStore


def _event(n: int) -> NewEvent:
    return NewEvent(type="ProgressReported", data={"progress": f"step {n}"})


async def test_reads_come_from_the_prefetch_and_a_moved_stream_is_refused(
    store: PostgresEventStore,
) -> None:
    read_ahead, elsewhere = f"complaint-{uuid.uuid4()}", f"complaint-{uuid.uuid4()}"
    for stream in (read_ahead, elsewhere):
        await store.append(stream, 0, [_event(1)])

    with pytest.raises(ConcurrencyConflict):
        async with store.unit_of_work() as uow:
            await uow.prefetch([read_ahead, read_ahead])
            # Another writer moves the stream after the read-ahead.
            await store.append(read_ahead, 1, [_event(2)])
            assert [e.version for e in await uow.read_stream(read_ahead)] == [1]
            # A stream not read ahead is read from the table.
            assert [e.version for e in await uow.read_stream(elsewhere)] == [1]
            await uow.append(read_ahead, 1, [_event(3)])

    async with store.unit_of_work() as uow:
        await uow.prefetch([read_ahead])
        await uow.append(read_ahead, 2, [_event(3)])
        # Its own append is in what it reads next.
        assert [e.version for e in await uow.read_stream(read_ahead)] == [1, 2, 3]
        assert [e.version for e in await uow.read_stream(read_ahead, 3)] == [3]
    assert [e.version for e in await store.read_stream(read_ahead)] == [1, 2, 3]
