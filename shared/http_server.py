"""uvicorn inside a tousu process: stopped by the process, gracefully, and
quiet while no request comes.

`tousu service` owns SIGTERM and SIGINT and cancels the service on either.
uvicorn's own handlers would run beside it (asyncio sees every signal) and
re-raise the signal on the way out; and a cancelled ``serve()`` drops the
requests in flight, answering a citizen's submission with a 500.

uvicorn's main loop wakes ten times a second to look at ``should_exit`` and
to renew the ``Date`` header once a second: on an idle system, the only thing
that woke the gateway and every metrics endpoint. Here the loop waits for
``should_exit`` to be set, and the ``Date`` header is made when a response
reads it, anew once a second at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Generator
from email.utils import formatdate

import uvicorn
from uvicorn.server import ServerState

Headers = list[tuple[bytes, bytes]]


class _DatedState(ServerState):
    """A server state whose default headers carry the current ``Date``."""

    def __init__(self, config: uvicorn.Config, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._second: int | None = None
        self._headers: Headers = []
        super().__init__()

    @property
    def default_headers(self) -> Headers:
        second = int(self._clock())
        if second != self._second:
            # The config's own headers are known once it is loaded (in serve()).
            date: Headers = (
                [(b"date", formatdate(second, usegmt=True).encode())]
                if self._config.date_header
                else []
            )
            self._headers = date + self._config.encoded_headers
            self._second = second
        return self._headers

    @default_headers.setter
    def default_headers(self, _value: Headers) -> None:
        # uvicorn's once-a-second tick sets them; they are made when read here.
        pass


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to its process and sleeps
    until a request comes or ``should_exit`` is set (from its event loop)."""

    def __init__(self, config: uvicorn.Config, clock: Callable[[], float] = time.time) -> None:
        self._exit = asyncio.Event()
        self._should_exit = False
        super().__init__(config)
        self.server_state = _DatedState(config, clock)

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value:
            self._exit.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn's loop also stops after ``limit_max_requests`` and calls
        # ``callback_notify``: tousu sets neither.
        await self._exit.wait()


async def serve_until_cancelled(server: QuietServer) -> None:
    """Serve until cancelled; then take no more requests, answer those in
    flight (within the config's ``timeout_graceful_shutdown``), and end with
    the cancellation. Cancellations while it winds down do not cut it short."""
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        while not serving.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(serving)
        raise
