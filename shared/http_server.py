"""uvicorn inside a tousu process: stopped by the process, gracefully.

`tousu service` owns SIGTERM and SIGINT and cancels the service on either.
uvicorn's own handlers would run beside it (asyncio sees every signal) and
re-raise the signal on the way out; and a cancelled ``serve()`` drops the
requests in flight, answering a citizen's submission with a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to its process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


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
