"""Group commit: work that arrives together is written in one round trip.

A consumer's fetch hands it up to ``consumer_batch_size`` events at once; a
dispatcher sends a batch of notices at once. One transaction or statement
each costs round trips that dominate the work; here the items waiting when a
batch starts share one (in arrival order). When a batch fails, each of its
items is done again on its own, so errors stay with the item that caused
them. An item that arrives alone is done alone: no waiting for company.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shared.logs import get_logger

log = get_logger("tousu.group_commit")

T = TypeVar("T")
R = TypeVar("R")


class _Waiting(Generic[T, R]):
    def __init__(self, item: T) -> None:
        self.item = item
        self.result: asyncio.Future[R] = asyncio.get_running_loop().create_future()


class GroupCommit(Generic[T, R]):
    """Runs ``handle_many`` on the items waiting together, ``handle_one`` on
    each of them when that fails (and on an item that waits alone).

    At most ``transactions`` batches run at a time, each of at most
    ``max_batch`` items, so a fetch of 100 still uses several connections.
    """

    def __init__(
        self,
        name: str,
        handle_many: Callable[[Sequence[T]], Awaitable[list[R]]],
        handle_one: Callable[[T], Awaitable[R]],
        *,
        max_batch: int,
        transactions: int,
    ) -> None:
        if max_batch < 1 or transactions < 1:
            raise ValueError("max_batch and transactions must be at least 1")
        self.name = name
        self._handle_many = handle_many
        self._handle_one = handle_one
        self._max_batch = max_batch
        self._transactions = transactions
        self._waiting: list[_Waiting[T, R]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs
        self._workers = 0  # counted in _work itself, so none is counted after its last look
        self._busy = 0

    async def handle(self, item: T) -> R:
        waiting = _Waiting[T, R](item)
        self._waiting.append(waiting)
        if self._workers < self._transactions:
            self._workers += 1
            # A context of its own: it works for many callers, so it must not
            # log with the ids its first caller had bound.
            task = asyncio.create_task(self._work(), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiting.result

    async def _work(self) -> None:
        try:
            # Let the rest of what was started together join before taking a batch.
            await asyncio.sleep(0)
            while self._waiting:
                # An even share for the workers free now, so they run side by side.
                share = -(-len(self._waiting) // (self._workers - self._busy))
                batch = self._waiting[: min(self._max_batch, share)]
                del self._waiting[: len(batch)]
                self._busy += 1
                try:
                    await self._run(batch)
                finally:
                    self._busy -= 1
                    # Never leave a caller waiting, whatever stopped us (cancellation).
                    for item in batch:
                        if not item.result.done():
                            item.result.cancel()
        finally:
            self._workers -= 1

    async def _run(self, batch: list[_Waiting[T, R]]) -> None:
        if len(batch) > 1:
            try:
                results = await self._handle_many([w.item for w in batch])
            except Exception as exc:
                log.info(
                    "batch failed, doing its items one by one",
                    batch=self.name,
                    items=len(batch),
                    error=f"{type(exc).__name__}: {exc}",
                )
            else:
                for item, result in zip(batch, results, strict=True):
                    _settle(item, result)
                return
        for item in batch:
            try:
                result = await self._handle_one(item.item)
            except Exception as exc:
                if not item.result.done():
                    item.result.set_exception(exc)
            else:
                _settle(item, result)


def _settle(item: _Waiting[T, R], result: R) -> None:
    if not item.result.done():  # the caller may have been cancelled
        item.result.set_result(result)
