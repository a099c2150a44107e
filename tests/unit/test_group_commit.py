"""Group commit on its own: who is batched with whom, and where errors go."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from tousu.shared.group_commit import GroupCommit


class Recorder:
    """Doubles each item; records the batches and single calls it was given."""

    def __init__(self, *, bad: int | None = None, hold: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.bad = bad
        self.hold = hold
        self.running = 0
        self.most_running = 0

    async def many(self, items: Sequence[int]) -> list[int]:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.hold is not None:
                await self.hold.wait()
            await asyncio.sleep(0)
            self.batches.append(list(items))
            if self.bad in items:
                raise ValueError("a bad item in the batch")
            return [i * 2 for i in items]
        finally:
            self.running -= 1

    async def one(self, item: int) -> int:
        self.singles.append(item)
        if item == self.bad:
            raise ValueError(f"item {item} is bad")
        return item * 2


def group(
    recorder: Recorder, *, max_batch: int = 25, transactions: int = 4
) -> GroupCommit[int, int]:
    return GroupCommit(
        "test", recorder.many, recorder.one, max_batch=max_batch, transactions=transactions
    )


async def test_items_started_together_share_batches_split_among_the_transactions() -> None:
    recorder = Recorder()
    commit = group(recorder)
    results = await asyncio.gather(*(commit.handle(i) for i in range(40)))
    assert results == [i * 2 for i in range(40)]
    assert sorted(i for b in recorder.batches for i in b) == list(range(40))
    assert [len(b) for b in recorder.batches] == [10, 10, 10, 10]
    assert recorder.singles == []


async def test_a_lone_item_is_done_alone_at_once() -> None:
    recorder = Recorder()
    assert await group(recorder).handle(7) == 14
    assert recorder.singles == [7] and recorder.batches == []


async def test_a_failed_batch_is_done_again_one_by_one_and_only_the_bad_item_fails() -> None:
    recorder = Recorder(bad=3)
    commit = group(recorder, transactions=1)
    results = await asyncio.gather(*(commit.handle(i) for i in range(6)), return_exceptions=True)
    assert results[:3] == [0, 2, 4] and results[4:] == [8, 10]
    assert isinstance(results[3], ValueError) and "item 3" in str(results[3])
    assert recorder.batches == [[0, 1, 2, 3, 4, 5]]
    assert recorder.singles == [0, 1, 2, 3, 4, 5]


async def test_batches_are_capped_and_at_most_the_given_number_run_at_once() -> None:
    hold = asyncio.Event()
    recorder = Recorder(hold=hold)
    commit = group(recorder, max_batch=3, transactions=2)
    waiting = [asyncio.ensure_future(commit.handle(i)) for i in range(10)]
    await asyncio.sleep(0.01)
    assert recorder.running == 2  # two batches held; the rest wait their turn
    hold.set()
    assert await asyncio.gather(*waiting) == [i * 2 for i in range(10)]
    assert recorder.most_running == 2
    assert max(len(b) for b in recorder.batches) == 3


async def test_a_cancelled_caller_leaves_the_others_their_results() -> None:
    hold = asyncio.Event()
    recorder = Recorder(hold=hold)
    commit = group(recorder, transactions=1)
    first = asyncio.ensure_future(commit.handle(1))
    second = asyncio.ensure_future(commit.handle(2))
    await asyncio.sleep(0.01)
    first.cancel()
    hold.set()
    assert await second == 4
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_work_arriving_after_the_workers_went_idle_is_picked_up() -> None:
    recorder = Recorder()
    commit = group(recorder)
    for round_ in range(3):
        assert await asyncio.gather(*(commit.handle(i) for i in range(5))) == [
            i * 2 for i in range(5)
        ], round_
    assert sum(len(b) for b in recorder.batches) + len(recorder.singles) == 15


def test_sizes_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        GroupCommit("x", Recorder().many, Recorder().one, max_batch=0, transactions=1)


async def test_batch_sizes_and_redone_batches_are_counted_per_name() -> None:
    registry = CollectorRegistry()
    good = GroupCommit(
        "a", Recorder().many, Recorder().one, max_batch=5, transactions=1, registry=registry
    )
    flaky = Recorder(bad=2)
    bad = GroupCommit("b", flaky.many, flaky.one, max_batch=5, transactions=1, registry=registry)
    await asyncio.gather(*(good.handle(i) for i in range(5)))
    await asyncio.gather(*(bad.handle(i) for i in range(3)), return_exceptions=True)

    def sample(name: str, batch: str) -> float | None:
        return registry.get_sample_value(name, {"batch": batch})

    assert sample("tousu_group_commit_batch_size_sum", "a") == 5
    assert sample("tousu_group_commit_batch_size_count", "a") == 1
    assert sample("tousu_group_commit_redone_batches_total", "a") == 0
    assert sample("tousu_group_commit_batch_size_sum", "b") == 3
    assert sample("tousu_group_commit_redone_batches_total", "b") == 1
