"""uvicorn inside a tousu process (shared/http_server.py) sleeps while no
request comes: nothing is scheduled on its event loop between requests, the
``Date`` header is still the current second's, and setting ``should_exit``
ends it at once.

Before, uvicorn's main loop slept 0.1 s at a time to look at ``should_exit``
and renew the ``Date`` header: ten wake-ups a second in the gateway and in
every metrics endpoint of an idle system.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.helpers import eventually
from tousu.shared.http_server import QuietServer


async def _hello(_request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def _serving(clock: _Clock) -> AsyncIterator[tuple[QuietServer, str, asyncio.Task[None]]]:
    app = Starlette(routes=[Route("/", _hello)])
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_config=None)
    server = QuietServer(config, clock=clock)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started, "the server to start")
        yield server, f"http://127.0.0.1:{port}", task
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def test_nothing_is_scheduled_while_no_request_comes() -> None:
    loop = asyncio.get_running_loop()
    async with _serving(_Clock(1_800_000_000.0)) as (_server, url, _task):
        # A connection of its own, closed after the request: no keep-alive timer.
        async with httpx.AsyncClient(headers={"Connection": "close"}) as client:
            assert (await client.get(url)).text == "hello"
        timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        assert timers == [], "the server keeps a timer running while idle"


async def test_the_date_header_is_the_current_second() -> None:
    clock = _Clock(1_800_000_000.0)
    async with _serving(clock) as (_server, url, _task):
        async with httpx.AsyncClient() as client:
            first = (await client.get(url)).headers["date"]
            clock.now += 61.5
            later = (await client.get(url)).headers["date"]
    assert first == formatdate(1_800_000_000, usegmt=True)
    assert later == formatdate(1_800_000_061, usegmt=True)


async def test_should_exit_ends_the_server_without_waiting_for_a_tick() -> None:
    async with _serving(_Clock(1_800_000_000.0)) as (server, _url, task):
        server.should_exit = True
        # Shutdown itself waits 0.1 s once (uvicorn's); a tick would add up to 0.1 s more.
        await asyncio.wait_for(asyncio.shield(task), 5)
        assert task.done()
