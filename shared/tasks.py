"""Stopping a task for sure, and stopping on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Iterator
from typing import Any

_RECANCEL_EVERY = 0.1


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set on SIGTERM or SIGINT while the ``with`` lasts (the loop's
    handlers for them are this block's, and are removed after it)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            continue
        installed.append(sig)
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def run_until(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run ``work`` until it ends or ``stop`` is set; True when stopped.

    Either way ``work`` has ended when this returns; its exception, if it
    failed by itself, is raised.
    """
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        await cancel_and_wait(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        raise error
    return stop.is_set()


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has ended.

    It is cancelled again until it ends: on Python 3.11 ``asyncio.wait_for``
    (used inside asyncpg, nats-py and the store) swallows a cancellation that
    arrives as the operation it guards completes (python/cpython#86296).
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=_RECANCEL_EVERY)
