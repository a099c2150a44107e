"""The loop both of followup's dispatchers run (notices, webhooks): rounds of
work, woken by a PostgreSQL NOTIFY on their channel or by a timeout, that
survive the database going away.

Between rounds the loop waits for whichever comes first: a NOTIFY (something
was written), or the time until the next retry is due (``idle_timeout``). A
listening connection that closes wakes the loop too, which listens anew and
runs a round for what it may have missed: the timeout need not stand in for
NOTIFYs that can no longer come, only for one lost on a connection that hangs
without closing. A failing round is logged and retried with a capped back-off
rather than ending the task, which would leave the service running with
nothing dispatching.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import asyncpg

from tousu.shared.logs import get_logger
from tousu.shared.store import Wakeup

log = get_logger("tousu.followup")

# The longest pause after failing rounds (seconds): the database's return is
# found this soon, whatever the idle timeout.
MAX_PAUSE = 5.0


async def run_woken_rounds(
    *,
    database_url: str,
    channel: str,
    round_: Callable[[], Awaitable[bool]],
    idle_timeout: Callable[[], Awaitable[float]],
    max_pause: float,
    failed: str,
) -> None:
    """Run ``round_`` until cancelled: again at once while it answers True
    (more is due now), else after a NOTIFY on ``channel`` or ``idle_timeout()``
    seconds. A round that raises is logged as ``failed`` and retried after
    0.5 s, doubling up to ``max_pause``."""
    wakeup = Wakeup()
    listener: asyncpg.Connection | None = None
    failures = 0
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await _listen(database_url, channel, wakeup)
                while await round_():
                    pass
                failures = 0
                await wakeup.wait(await idle_timeout())
            except Exception as exc:
                failures += 1
                delay = min(0.5 * 2 ** (failures - 1), max_pause)
                log.warning(failed, error=repr(exc), retry_in=delay, exc_info=True)
                await asyncio.sleep(delay)
    finally:
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()


async def _listen(database_url: str, channel: str, wakeup: Wakeup) -> asyncpg.Connection:
    # A connection of its own: LISTEN belongs to a session, and a pooled
    # connection would be reset (UNLISTEN ALL) on release.
    conn = await asyncpg.connect(database_url)
    await conn.add_listener(channel, wakeup.wake)
    # Closed, it wakes the loop, which listens again (a NOTIFY sent meanwhile
    # is lost: the round after listening finds its work).
    conn.add_termination_listener(wakeup.wake)
    # Whatever was written before the LISTEN is found by the next round.
    wakeup.wake()
    return conn


@contextlib.asynccontextmanager
async def in_background(
    run: Callable[[], Coroutine[Any, Any, None]], name: str
) -> AsyncIterator[None]:
    """``run()`` as a task for the duration of the block, cancelled at its end."""
    task = asyncio.create_task(run(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
