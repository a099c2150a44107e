"""Group commit: work that arrives together is written in one round trip.

A consumer's fetch hands it up to ``consumer_batch_size`` events at once; a
dispatcher sends a batch of notices at once. One transaction or statement
each costs round trips that dominate the work; here the items waiting when a
batch starts share one (in arrival order). When a batch fails, each of its
items is done again on its own, so errors stay with the item that caused
them. An item that arrives alone is done alone: no waiting for company.

Its figures (batch sizes, batches done again one by one) go to the process's
Prometheus registry, labelled by the group commit's name
(``consumer:routing``, ``intake:registrations``, ``notify:sent``), so an
operator sees whether ``TOUSU_GROUP_COMMIT`` is ever reached and how often a
failing item costs its batch a second pass.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Histogram

from tousu.shared.logs import get_logger

log = get_logger("tousu.group_commit")

# Batches run side by side by default, each on its own pooled connection:
# enough to keep both PostgreSQL and the process busy while one commits.
TRANSACTIONS = 4

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
        transactions: int = TRANSACTIONS,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if max_batch < 1 or transactions < 1:
            raise ValueError("max_batch and transactions must be at least 1")
        self.name = name
        self._handle_many = handle_many
        self._handle_one = handle_one
        self._max_batch = max_batch
        self._transactions = transactions
        # Told each batch's size, and whether it failed and was done again.
        self._observe = _observer(registry, name)
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
        redone = False
        if len(batch) > 1:
            try:
                results = await self._handle_many([w.item for w in batch])
            except Exception as exc:
                redone = True
                log.info(
                    "batch failed, doing its items one by one",
                    batch=self.name,
                    items=len(batch),
                    error=f"{type(exc).__name__}: {exc}",
                )
            else:
                for item, result in zip(batch, results, strict=True):
                    _settle(item, result)
                self._observed(len(batch), redone)
                return
        for item in batch:
            try:
                result = await self._handle_one(item.item)
            except Exception as exc:
                if not item.result.done():
                    item.result.set_exception(exc)
            else:
                _settle(item, result)
        self._observed(len(batch), redone)

    def _observed(self, items: int, redone: bool) -> None:
        if self._observe is not None:
            self._observe(items, redone)


def _settle(item: _Waiting[T, R], result: R) -> None:
    if not item.result.done():  # the caller may have been cancelled
        item.result.set_result(result)


Observe = Callable[[int, bool], None]

_BY_REGISTRY: WeakKeyDictionary[CollectorRegistry, _Figures] = WeakKeyDictionary()


class _Figures:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._size = Histogram(
            "tousu_group_commit_batch_size",
            "Items written together in one transaction or statement",
            ["batch"],
            buckets=(1, 2, 4, 8, 16, 25, 50, 100),
            registry=registry,
        )
        self._redone = Counter(
            "tousu_group_commit_redone_batches",
            "Batches rolled back because one item failed, then done one item at a time",
            ["batch"],
            registry=registry,
        )

    def observer(self, name: str) -> Observe:
        size, redone = self._size.labels(name), self._redone.labels(name)

        def observe(items: int, failed: bool) -> None:
            size.observe(items)
            if failed:
                redone.inc()

        return observe


def _observer(registry: CollectorRegistry | None, name: str) -> Observe | None:
    """The observer for group commit ``name`` in ``registry``'s process; None without one."""
    if registry is None:
        return None
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = _Figures(registry)
    return metrics.observer(name)
