"""Durable consumers of messages that are not stored events: what channels submit.

An :class:`Input` is declared in a service's ``ServiceSpec`` like its
consumers of events. Its handler gets the raw message and registers what it
carries; the message is settled by the same :class:`Settler` as every
consumer's — retried with the back-off, dead-lettered with its reason once
the deliveries are used up (at once for what the input refuses), nak'd when
the dead letter cannot be stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg

from tousu.shared.consumer.dead_letter import DeadLetters
from tousu.shared.consumer.headers import MSG_ID
from tousu.shared.consumer.policy import RetryPolicy
from tousu.shared.consumer.settle import Outcome, Settler
from tousu.shared.logs import bound_contextvars


@dataclass(frozen=True)
class Input:
    """A durable consumer of raw messages, declared in a ServiceSpec."""

    # The JetStream durable, shared by the replicas, and its DLQ subject.
    name: str
    stream: str
    # What it takes from ``stream`` (NATS wildcards allowed).
    subject: str
    # Registers what ``msg`` carries; raising is a failure to retry.
    handle: Callable[[Msg], Awaitable[None]]
    # Failures no retry can mend (a payload that is no submission): dead-lettered at once.
    refused: tuple[type[Exception], ...] = ()
    # Its name in the AsyncAPI document.
    title: str = ""


class InputProcessor:
    """One delivered message of ``source``: handled, then settled."""

    def __init__(self, source: Input, dead_letters: DeadLetters, policy: RetryPolicy) -> None:
        self.source = source
        self._settler = Settler(source.name, dead_letters, policy)

    async def process(self, msg: Msg) -> Outcome:
        msg_id = (msg.headers or {}).get(MSG_ID)
        with bound_contextvars(consumer=self.source.name, msg_id=msg_id):
            try:
                await self.source.handle(msg)
            except self.source.refused as exc:
                return await self._settler.dead_letter(msg, exc)
            except Exception as exc:
                return await self._settler.failed(msg, exc)
            await self._settler.handled(msg)
            return Outcome.HANDLED
