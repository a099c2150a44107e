"""`tousu service <name>`: SIGTERM stops the service even when its first
cancellation is swallowed, as Python 3.11's ``asyncio.wait_for`` (inside
asyncpg and nats-py) can do; a clean-clone run once left a relay signalled
while it was connecting running on until it was killed."""

from __future__ import annotations

import asyncio
import os
import signal

from tousu.cli.runtime_cmds import _run_service
from tousu.shared.settings import Settings


async def test_sigterm_stops_a_service_that_swallows_the_first_cancellation() -> None:
    started = asyncio.Event()
    cancellations = 0

    async def service(_settings: Settings) -> None:
        nonlocal cancellations
        started.set()
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancellations += 1
                if cancellations > 1:
                    raise
                # Swallowed: the service goes on as if nothing had happened.

    running = asyncio.create_task(_run_service(service, Settings()))
    await started.wait()
    os.kill(os.getpid(), signal.SIGTERM)

    assert await asyncio.wait_for(running, timeout=5) == 0
    assert cancellations == 2
    # The handler went with the service: SIGTERM is the default again.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_a_service_that_ends_by_itself_ends_the_command() -> None:
    async def service(_settings: Settings) -> None:
        return None

    assert await asyncio.wait_for(_run_service(service, Settings()), timeout=5) == 0
