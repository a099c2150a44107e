"""Publishing a message that cannot be handled into the dead-letter stream."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from tousu.shared.consumer import headers as h
from tousu.shared.naming import Naming


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class DeadLetters:
    """Writes dead letters for any consumer, and cleans up replayed ones."""

    def __init__(self, js: JetStreamContext, naming: Naming) -> None:
        self._js = js
        self._naming = naming

    async def publish(
        self, consumer: str, msg: Msg, error: BaseException, deliveries: int
    ) -> PubAck:
        """Copy ``msg`` with its error to ``<root>.dlq.<consumer>``; returns once stored.

        The caller settles the original only after this returns, so a crash in
        between redelivers it and publishes again: the ``Nats-Msg-Id`` (the
        original's stream position) makes that second copy a no-op.
        """
        meta = msg.metadata
        original = msg.headers or {}
        headers = h.carried_over(original)
        # A replayed entry already names where it first came from; keep that.
        headers.setdefault(h.ORIGINAL_SUBJECT, msg.subject)
        headers.setdefault(h.ORIGINAL_STREAM, meta.stream)
        headers.setdefault(h.ORIGINAL_SEQUENCE, str(meta.sequence.stream))
        if h.MSG_ID in original:
            headers.setdefault(h.ORIGINAL_MSG_ID, original[h.MSG_ID])
        headers.update(
            {
                h.CONSUMER: consumer,
                h.ERROR: h.encode_text(describe(error), h.ERROR_LIMIT),
                h.TRACEBACK: h.encode_tail(
                    "".join(traceback.format_exception(error)), h.TRACEBACK_LIMIT
                ),
                h.FAILED_AT: datetime.now(UTC).isoformat(timespec="milliseconds"),
                h.DELIVERIES: str(deliveries),
                h.MSG_ID: f"{consumer}:{meta.stream}:{meta.sequence.stream}",
            }
        )
        return await self._js.publish(
            self._naming.dlq(consumer),
            msg.data,
            headers=headers,
            stream=self._naming.dlq_stream,
        )

    async def discard_replay(self, msg: Msg) -> None:
        """Remove a settled replay (``dlq-retry``) message so the DLQ stream holds
        only what still needs attention."""
        await self._js.delete_msg(self._naming.dlq_stream, msg.metadata.sequence.stream)
