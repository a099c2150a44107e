"""Pipelined JetStream publishes: many in flight, each ack (or refusal) on its own future.

nats-py's ``publish_async`` leaves a future pending forever when the server
answers with an error (nats-io/nats.py#985: ``APIError.from_error`` raises
instead of returning), and the relay must see refusals such as "wrong last
sequence" at once. So it keeps its own reply inbox.
"""

from __future__ import annotations

import asyncio
import json
from itertools import count

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import PubAck

NO_RESPONDERS = "503"


class PublishRejected(Exception):
    """JetStream answered a publish with an error (or nobody stores the subject)."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"{description} (code={code}, err_code={err_code})")
        self.code = code
        self.err_code = err_code
        self.description = description


class AckInbox:
    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self._prefix = ""
        self._tokens = count()
        self._pending: dict[str, asyncio.Future[PubAck]] = {}
        self._sub: Subscription | None = None

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        """Send now; the returned future resolves to the PubAck or a rejection."""
        if self._sub is None:
            self._prefix = self._nc.new_inbox()
            self._sub = await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_reply)
        token = str(next(self._tokens))
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        future.add_done_callback(lambda _: self._pending.pop(token, None))
        await self._nc.publish(subject, payload, reply=f"{self._prefix}.{token}", headers=headers)
        return future

    async def close(self) -> None:
        for future in list(self._pending.values()):
            future.cancel()
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _on_reply(self, msg: Msg) -> None:
        future = self._pending.get(msg.subject.rsplit(".", 1)[-1])
        if future is None or future.done():
            return  # given up on (timed out or cancelled)
        if msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            future.set_exception(PublishRejected(503, 0, "no stream stores this subject"))
            return
        try:
            reply = json.loads(msg.data)
            error = reply.get("error")
            if error:
                future.set_exception(
                    PublishRejected(
                        int(error.get("code", 0)),
                        int(error.get("err_code", 0)),
                        str(error.get("description", "")),
                    )
                )
            else:
                future.set_result(PubAck.from_response(reply))
        except (ValueError, TypeError, AttributeError) as exc:
            future.set_exception(exc)
