"""One delivered event, start to finish: decode, handle once, settle.

How the message is settled (ack, retry, dead letter) is :class:`Settler`'s,
the same for every durable consumer (``tousu.shared.consumer.settle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from nats.aio.msg import Msg
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from tousu.shared.consumer.consumer import Consumer
from tousu.shared.consumer.dead_letter import DeadLetters
from tousu.shared.consumer.headers import MSG_ID
from tousu.shared.consumer.policy import RetryPolicy
from tousu.shared.consumer.settle import Outcome, Settler
from tousu.shared.events import Envelope
from tousu.shared.group_commit import GroupCommit
from tousu.shared.logs import bound_contextvars, get_logger
from tousu.shared.store import AlreadyProcessed, ConcurrencyConflict, EventStore, UnitOfWork

log = get_logger("tousu.consumer")

__all__ = ["MalformedMessage", "MessageProcessor", "Outcome", "parse_envelope"]


class MalformedMessage(Exception):
    """The payload is not an event envelope: no retry can ever succeed."""


def parse_envelope(data: bytes) -> Envelope:
    try:
        return Envelope.model_validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise MalformedMessage(f"not an event envelope ({problems})") from None


class MessageProcessor:
    def __init__(
        self,
        consumer: Consumer,
        store: EventStore,
        dead_letters: DeadLetters,
        policy: RetryPolicy,
        *,
        group_commit: int = 1,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.consumer = consumer
        self._store = store
        self._policy = policy
        self._settler = Settler(consumer.name, dead_letters, policy)
        self._group: GroupCommit[Envelope, Outcome] = GroupCommit(
            f"consumer:{consumer.name}",
            self._handle_many,
            self._handle_once,
            max_batch=group_commit,
            registry=registry,
        )

    async def process(self, msg: Msg, *, replay: bool = False) -> Outcome:
        """Handle and settle ``msg``; ``replay`` marks a ``tousu dlq retry`` copy."""
        try:
            envelope = parse_envelope(msg.data)
        except MalformedMessage as exc:
            msg_id = (msg.headers or {}).get(MSG_ID)
            with bound_contextvars(consumer=self.consumer.name, msg_id=msg_id):
                return await self._settler.dead_letter(msg, exc, replay=replay)

        wants = self.consumer.wants
        if not replay and wants is not None and not wants(envelope):
            await self._settler.handled(msg)  # nothing to do: no transaction
            return Outcome.HANDLED
        try:
            if replay:  # one at a time, as the operator asked for it
                outcome = await self._handle_once(envelope)
            else:
                outcome = await self._group.handle(envelope)
        except Exception as exc:
            # Bound here, not around every event: the happy path logs nothing.
            with self._bound(envelope):
                return await self._settler.failed(msg, exc, replay=replay, event_type=envelope.type)
        await self._settler.handled(msg, replay=replay)
        return outcome

    def _bound(self, envelope: Envelope) -> AbstractContextManager[None]:
        return bound_contextvars(
            consumer=self.consumer.name,
            event_id=str(envelope.event_id),
            correlation_id=str(envelope.correlation_id),
        )

    def _records(self, uow: UnitOfWork, writes_before: int) -> bool:
        """Whether the event just handled gets its tracking row."""
        return self.consumer.record_no_ops or uow.writes != writes_before

    async def _handle_many(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        """All of ``envelopes`` in one transaction, in order; any error undoes all."""
        name = self.consumer.name
        async with self._store.unit_of_work() as uow:
            done = await uow.processed_among(name, [e.event_id for e in envelopes])
            if self.consumer.reads_streams and len(envelopes) > 1:
                await uow.prefetch([e.stream_id for e in envelopes if e.event_id not in done])
            outcomes = []
            for envelope in envelopes:
                if envelope.event_id in done:
                    outcomes.append(Outcome.DUPLICATE)
                    continue
                writes = uow.writes
                with self._bound(envelope):
                    await self.consumer.handle(envelope, uow)
                if self._records(uow, writes):
                    await uow.mark_processed(name, envelope.event_id)
                outcomes.append(Outcome.HANDLED)
        return outcomes

    async def _handle_once(self, envelope: Envelope) -> Outcome:
        name = self.consumer.name
        with self._bound(envelope):
            for attempt in range(self._policy.conflict_retries + 1):
                try:
                    async with self._store.unit_of_work() as uow:
                        if await uow.is_processed(name, envelope.event_id):
                            return Outcome.DUPLICATE
                        writes = uow.writes
                        await self.consumer.handle(envelope, uow)
                        if self._records(uow, writes):
                            await uow.mark_processed(name, envelope.event_id)
                    return Outcome.HANDLED
                except AlreadyProcessed:
                    return Outcome.DUPLICATE
                except ConcurrencyConflict as exc:
                    if attempt == self._policy.conflict_retries:
                        raise
                    log.info(
                        "concurrency conflict, handling again",
                        attempt=attempt + 1,
                        error=str(exc),
                    )
        raise AssertionError("unreachable")  # the loop returns or raises
