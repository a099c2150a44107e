"""One contract for every EventStore adapter (PostgreSQL, in-memory).

A subclass provides the ``event_store`` fixture; every test here then runs
against that adapter.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import eventually
from tousu.shared.events import Envelope, NewEvent
from tousu.shared.store import (
    NO_STREAM,
    AlreadyProcessed,
    ConcurrencyConflict,
    EventStore,
    IdempotencyViolation,
    UnknownPosition,
)


def stream() -> str:
    return f"complaint-{uuid.uuid4()}"


def events(n: int, kind: str = "ProgressReported") -> list[NewEvent]:
    return [NewEvent(type=kind, data={"i": i}) for i in range(n)]


class EventStoreContract:
    async def test_append_assigns_versions_and_positions(self, event_store: EventStore) -> None:
        sid = stream()
        stored = await event_store.append(sid, NO_STREAM, events(3))
        assert [e.version for e in stored] == [1, 2, 3]
        positions = [e.global_position for e in stored]
        assert positions == sorted(positions) and len(set(positions)) == 3
        more = await event_store.append(sid, 3, events(1))
        assert more[0].version == 4
        assert [e.version for e in await event_store.read_stream(sid)] == [1, 2, 3, 4]
        assert [e.version for e in await event_store.read_stream(sid, from_version=3)] == [3, 4]

    async def test_envelope_round_trips(self, event_store: EventStore) -> None:
        sid = stream()
        new = NewEvent(type="ComplaintReceived", data={"text": "窗口人员态度差", "n": [1, 2]})
        (stored,) = await event_store.append(sid, NO_STREAM, [new])
        (read,) = await event_store.read_stream(sid)
        assert read == stored
        assert read.data == {"text": "窗口人员态度差", "n": [1, 2]}
        assert read.occurred_at == new.occurred_at
        assert read.correlation_id == new.correlation_id
        assert read.actor == new.actor

    async def test_wrong_expected_version_conflicts_and_appends_nothing(
        self, event_store: EventStore
    ) -> None:
        sid = stream()
        await event_store.append(sid, NO_STREAM, events(2))
        for expected in (0, 1, 3, 7):
            with pytest.raises(ConcurrencyConflict) as info:
                await event_store.append(sid, expected, events(1))
            assert info.value.actual_version == 2
            assert info.value.expected_version == expected
        assert len(await event_store.read_stream(sid)) == 2

    async def test_concurrent_appends_exactly_one_wins(self, event_store: EventStore) -> None:
        sid = stream()
        await event_store.append(sid, NO_STREAM, events(1))

        async def attempt() -> str:
            try:
                await event_store.append(sid, 1, events(2))
            except ConcurrencyConflict:
                return "conflict"
            return "ok"

        outcomes = await asyncio.gather(*(attempt() for _ in range(10)))
        assert sorted(outcomes) == ["conflict"] * 9 + ["ok"]
        assert [e.version for e in await event_store.read_stream(sid)] == [1, 2, 3]

    async def test_reappending_same_events_is_a_noop(self, event_store: EventStore) -> None:
        sid = stream()
        batch = events(3)
        first = await event_store.append(sid, NO_STREAM, batch)
        again = await event_store.append(sid, NO_STREAM, batch)
        assert [e.global_position for e in again] == [e.global_position for e in first]
        assert again == first
        assert len(await event_store.read_stream(sid)) == 3
        # Also when the stream has moved on since: a retried command is harmless.
        await event_store.append(sid, 3, events(1))
        assert await event_store.append(sid, NO_STREAM, batch) == first

    async def test_partly_stored_ids_are_refused(self, event_store: EventStore) -> None:
        sid = stream()
        batch = events(2)
        await event_store.append(sid, NO_STREAM, batch[:1])
        with pytest.raises(IdempotencyViolation):
            await event_store.append(sid, 1, [batch[0], *events(1)])
        with pytest.raises(IdempotencyViolation):
            await event_store.append(stream(), NO_STREAM, batch[:1])

    async def test_read_all_pages_in_order_without_repeats(self, event_store: EventStore) -> None:
        start = await _head(event_store)
        for _ in range(5):
            await event_store.append(stream(), NO_STREAM, events(3))
        seen: list[Envelope] = []
        after = start

        async def read_on() -> bool:
            # Events become readable once every older transaction on the
            # server has ended, which another database's may delay.
            nonlocal after
            while page := await event_store.read_all(after=after, limit=4):
                seen.extend(page)
                after = page[-1].global_position
            return len(seen) >= 15

        await eventually(read_on, "15 readable events")
        assert len(seen) == 15
        assert len({e.event_id for e in seen}) == 15
        for sid in {e.stream_id for e in seen}:
            assert [e.version for e in seen if e.stream_id == sid] == [1, 2, 3]

    async def test_read_all_after_unknown_position_is_an_error(
        self, event_store: EventStore
    ) -> None:
        with pytest.raises(UnknownPosition):
            await event_store.read_all(after=10**12)

    async def test_failed_unit_of_work_leaves_nothing(self, event_store: EventStore) -> None:
        sid = stream()
        with pytest.raises(RuntimeError):
            async with event_store.unit_of_work() as uow:
                await uow.append(sid, NO_STREAM, events(2))
                raise RuntimeError("handler failed")
        assert await event_store.read_stream(sid) == []
        await event_store.append(sid, NO_STREAM, events(1))

    async def test_tracking_commits_with_the_appends(self, event_store: EventStore) -> None:
        sid, event_id = stream(), uuid.uuid4()
        async with event_store.unit_of_work() as uow:
            assert not await uow.is_processed("routing", event_id)
            await uow.append(sid, NO_STREAM, events(1))
            await uow.mark_processed("routing", event_id)
        async with event_store.unit_of_work() as uow:
            assert await uow.is_processed("routing", event_id)
            assert not await uow.is_processed("handling", event_id)

    async def test_second_delivery_is_refused_and_rolled_back(
        self, event_store: EventStore
    ) -> None:
        sid, event_id = stream(), uuid.uuid4()
        async with event_store.unit_of_work() as uow:
            await uow.append(sid, NO_STREAM, events(1))
            await uow.mark_processed("routing", event_id)
        with pytest.raises(AlreadyProcessed):
            async with event_store.unit_of_work() as uow:
                await uow.append(sid, 1, events(1))
                await uow.mark_processed("routing", event_id)
        assert len(await event_store.read_stream(sid)) == 1

    async def test_a_batch_of_marks_commits_together(self, event_store: EventStore) -> None:
        a, b, never = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with event_store.unit_of_work() as uow:
            assert await uow.processed_among("routing", [a, b]) == set()
            await uow.mark_processed("routing", a)
            await uow.mark_processed("routing", b)
        async with event_store.unit_of_work() as uow:
            assert await uow.processed_among("routing", [never, b, a]) == {a, b}
            assert await uow.processed_among("handling", [a, b]) == set()
            assert await uow.processed_among("routing", []) == set()

    async def test_one_mark_already_made_refuses_the_whole_batch(
        self, event_store: EventStore
    ) -> None:
        first, fresh, sid = uuid.uuid4(), uuid.uuid4(), stream()
        async with event_store.unit_of_work() as uow:
            await uow.mark_processed("routing", first)
        with pytest.raises(AlreadyProcessed) as refused:
            async with event_store.unit_of_work() as uow:
                await uow.append(sid, NO_STREAM, events(1))
                await uow.mark_processed("routing", fresh)
                await uow.mark_processed("routing", first)
        assert refused.value.event_id == first
        async with event_store.unit_of_work() as uow:
            assert await uow.processed_among("routing", [first, fresh]) == {first}
        assert await event_store.read_stream(sid) == []

    async def test_one_event_marked_twice_in_a_unit_is_refused(
        self, event_store: EventStore
    ) -> None:
        twice = uuid.uuid4()
        with pytest.raises(AlreadyProcessed):
            async with event_store.unit_of_work() as uow:
                await uow.mark_processed("routing", twice)
                await uow.mark_processed("routing", twice)
        async with event_store.unit_of_work() as uow:
            assert not await uow.is_processed("routing", twice)

    async def test_wakeup_fires_after_an_append(self, event_store: EventStore) -> None:
        async with event_store.wakeup() as wakeup:
            assert not await wakeup.wait(0.05)
            await event_store.append(stream(), NO_STREAM, events(1))
            assert await wakeup.wait(5.0)

    async def test_checkpoints(self, event_store: EventStore) -> None:
        name = f"reader-{uuid.uuid4()}"
        assert await event_store.get_checkpoint(name) == 0
        await event_store.set_checkpoint(name, 42)
        await event_store.set_checkpoint(name, 43)
        assert await event_store.get_checkpoint(name) == 43


async def _head(event_store: EventStore) -> int:
    after, last = 0, 0
    while page := await event_store.read_all(after=after, limit=1000):
        after = last = page[-1].global_position
    return last
