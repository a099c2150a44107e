"""A department's webhook receiver on a local port, in the calling process:
what the webhook tests and `tousu bench webhooks` post to.

A plain asyncio HTTP/1.1 server (one request per connection), so that it can
be told to answer 503 (``failing``) or to stop listening altogether
(``down``: connections refused) and come back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.time() when the body had arrived


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    failing: bool = False  # answer 503 to everything
    received: list[Received] = field(default_factory=list)
    refused: int = 0  # requests answered 503
    _server: asyncio.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def down(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_for(self, count: int, timeout: float) -> bool:
        """Until ``count`` requests were taken, or ``timeout`` seconds; whether they were."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            self._arrived.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return len(self.received) >= count
        return True

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.down()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if self.failing:
                self.refused += 1
                status = b"503 Service Unavailable"
            else:
                self.received.append(Received(headers, body, time.time()))
                self._arrived.set()
                status = b"204 No Content"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
