"""Group commit: events that arrive together are handled in one transaction.

A consumer's fetch hands it up to ``consumer_batch_size`` messages at once.
One transaction each costs a BEGIN, a processed check, a tracking insert and
a COMMIT per event, most of a consumer's database time; here the events that
are waiting when a transaction starts share one (in delivery order). When
anything in a batch fails, the batch is rolled back and each of its events is
handled again on its own, so retries, conflicts and dead letters stay per
event. An event that arrives alone is handled alone: no waiting for company.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shared.events import Envelope
from shared.logs import get_logger

log = get_logger("tousu.consumer")

R = TypeVar("R")


class _Waiting(Generic[R]):
    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        self.result: asyncio.Future[R] = asyncio.get_running_loop().create_future()


class GroupCommit(Generic[R]):
    """Runs ``handle_many`` on the events waiting together, ``handle_one`` on
    each of them when that fails (and on an event that waits alone).

    At most ``transactions`` batches run at a time, each of at most
    ``max_batch`` events, so a fetch of 100 still uses several connections.
    """

    def __init__(
        self,
        name: str,
        handle_many: Callable[[Sequence[Envelope]], Awaitable[list[R]]],
        handle_one: Callable[[Envelope], Awaitable[R]],
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
        self._waiting: list[_Waiting[R]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs
        self._workers = 0  # counted in _work itself, so none is counted after its last look
        self._busy = 0

    async def handle(self, envelope: Envelope) -> R:
        waiting = _Waiting[R](envelope)
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
            # Let the rest of a fetch (started together) join before taking a batch.
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

    async def _run(self, batch: list[_Waiting[R]]) -> None:
        if len(batch) > 1:
            try:
                results = await self._handle_many([item.envelope for item in batch])
            except Exception as exc:
                log.info(
                    "batch failed, handling its events one by one",
                    consumer=self.name,
                    events=len(batch),
                    error=f"{type(exc).__name__}: {exc}",
                )
            else:
                for item, result in zip(batch, results, strict=True):
                    _settle(item, result)
                return
        for item in batch:
            try:
                result = await self._handle_one(item.envelope)
            except Exception as exc:
                if not item.result.done():
                    item.result.set_exception(exc)
            else:
                _settle(item, result)


def _settle(item: _Waiting[R], result: R) -> None:
    if not item.result.done():  # the caller may have been cancelled
        item.result.set_result(result)
