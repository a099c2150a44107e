"""A service's FastStream app is run by ``serve``: nothing is scheduled on its
loop while it waits (FastStream's own ``run`` looked at its exit flag every
0.1 s, ten wake-ups a second in each idle service), and SIGTERM stops it
gracefully, its shutdown hooks run."""

from __future__ import annotations

import asyncio
import os
import signal

from faststream import FastStream
from faststream.nats import NatsBroker

from tests.helpers import eventually
from tousu.shared.service import serve
from tousu.shared.settings import Settings


async def test_an_idle_app_keeps_no_timer_and_sigterm_stops_it(settings: Settings) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def after_startup() -> None:
        started.set()

    async def on_shutdown() -> None:
        stopped.set()

    broker = NatsBroker(str(settings.nats_url), logger=None)
    app = FastStream(broker, logger=None, after_startup=[after_startup], on_shutdown=[on_shutdown])
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(serve(app))
    await eventually(started.is_set, "the app to start")
    await asyncio.sleep(0)  # let serve() reach its wait

    soon = [
        h
        for h in loop._scheduled  # type: ignore[attr-defined]
        if not h.cancelled() and h.when() - loop.time() < 1.0
    ]
    assert soon == [], "something wakes the idle app within a second"

    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 10)
    assert stopped.is_set()
