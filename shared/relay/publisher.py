"""The relay's publishing loop: read in commit order, publish, checkpoint after the acks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import PubAck

from shared.events import Envelope
from shared.logs import bound_contextvars, get_logger
from shared.naming import Naming
from shared.relay.acks import AckInbox, PublishRejected
from shared.relay.message import EXPECTED_LAST_MSG_ID, EXPECTED_LAST_SEQUENCE, encode
from shared.relay.tail import ResumePoint, find_resume_point
from shared.store import EventStore

log = get_logger(__name__)

CHECKPOINT = "relay"
# JetStream's refusals of Nats-Expected-Last-Msg-Id and -Sequence.
OUT_OF_SEQUENCE = frozenset({10070, 10071})

# Counts the events after a read_all position (for the lag metric).
LagCounter = Callable[[int], Awaitable[int]]

# Trouble the loop waits out and retries; anything else is a bug and ends the
# process, which frees the leadership for a standby.
_RETRIED = (
    nats.errors.Error,
    TimeoutError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


@dataclass
class RelayStats:
    published: int = 0  # events JetStream acknowledged as newly stored
    duplicates: int = 0  # events JetStream already had (acked as duplicates)
    last_position: int = 0  # global_position of the last event known to be in the stream
    last_sequence: int = 0  # the stream sequence of the last message this relay stored
    lag_events: int | None = None  # readable events not yet published; None: not measured
    resumes: int = 0
    failures: int = 0


class PublishFailed(Exception):
    """A publish was not acknowledged; events from ``envelope`` on are not known stored."""

    def __init__(self, envelope: Envelope, cause: BaseException) -> None:
        super().__init__(f"publishing event {envelope.event_id} failed: {cause!r}")
        self.envelope = envelope
        self.cause = cause

    @property
    def out_of_sequence(self) -> bool:
        return isinstance(self.cause, PublishRejected) and self.cause.err_code in OUT_OF_SEQUENCE


class Relay:
    """Publishes the store's events to the events stream, in commit order.

    Leadership is not its concern: run :meth:`run` only while leading (see
    :mod:`shared.relay.leader`); cancelling it stops publishing at once.
    """

    def __init__(
        self,
        store: EventStore,
        nc: NatsClient,
        naming: Naming,
        *,
        batch_size: int = 500,
        idle_recheck: float = 2.0,
        ack_timeout: float = 5.0,
        backoff_base: float = 0.1,
        backoff_max: float = 5.0,
        checkpoint: str = CHECKPOINT,
        lag_counter: LagCounter | None = None,
    ) -> None:
        self._store = store
        self._js = nc.jetstream()
        self._acks = AckInbox(nc)
        self._naming = naming
        self._batch_size = batch_size
        self._idle_recheck = idle_recheck
        self._ack_timeout = ack_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._checkpoint = checkpoint
        self._lag_counter = lag_counter
        self._lag_measured_at = 0.0
        self._after: int | None = None  # None: resume from the stream before reading
        self._last_sequence = 0
        self._last_event_id: str | None = None  # of the last message this term stored
        self.stats = RelayStats()

    async def close(self) -> None:
        """Stop listening for acks (the NATS connection stays the caller's)."""
        await self._acks.close()

    async def resume(self) -> ResumePoint:
        """Find where to continue from what the stream and the checkpoint say."""
        point = await find_resume_point(
            self._store, self._js, self._naming.events_stream, self._checkpoint
        )
        if point.after != point.checkpoint:
            # The stream's word is as good as a PubAck: those events are stored.
            await self._store.set_checkpoint(self._checkpoint, point.after)
        self._after = point.after
        self._last_sequence = point.last_sequence
        self._last_event_id = None
        self.stats.last_position = point.after
        self.stats.last_sequence = point.last_sequence
        self.stats.resumes += 1
        log.info(
            "relay resuming",
            after_position=point.after,
            stream_sequence=point.last_sequence,
            source=point.source,
            checkpoint=point.checkpoint,
        )
        return point

    async def publish_next_batch(self) -> int:
        """Publish the next batch of events; returns how many were read (0: caught up)."""
        if self._after is None:
            await self.resume()
        assert self._after is not None
        events = await self._store.read_all(after=self._after, limit=self._batch_size)
        if events:
            await self._publish(events)
        return len(events)

    async def run_until_caught_up(self) -> int:
        """Publish until nothing is readable; returns the number of events sent."""
        sent = 0
        while read := await self.publish_next_batch():
            sent += read
            if read < self._batch_size:
                break
        return sent

    async def run(self) -> None:
        """Publish forever, waking on appends; NATS or database trouble is retried."""
        self._after = None  # a new term trusts only what the stream holds now
        backoff = self._backoff_base
        while True:
            try:
                async with self._store.wakeup() as wakeup:
                    while True:
                        read = await self.publish_next_batch()
                        backoff = self._backoff_base
                        await self._measure_lag(read)
                        if read < self._batch_size:
                            await wakeup.wait(self._idle_recheck)
            except PublishFailed as failed:
                self._failed(failed)
                if failed.out_of_sequence:
                    continue  # not an outage: re-read the stream's tail right away
            except _RETRIED as exc:
                self.stats.failures += 1
                log.warning("relay trouble; retrying", error=repr(exc), retry_in=backoff)
            self._after = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._backoff_max)

    def _failed(self, failed: PublishFailed) -> None:
        self.stats.failures += 1
        self._after = None
        envelope = failed.envelope
        with bound_contextvars(
            event_id=str(envelope.event_id), correlation_id=str(envelope.correlation_id)
        ):
            log.warning(
                "relay publish not acknowledged; resuming from the stream",
                error=repr(failed.cause),
                global_position=envelope.global_position,
            )

    async def _publish(self, events: list[Envelope]) -> None:
        # Order: all publishes go out on one connection, in commit order, so
        # the server receives them in that order. Each also names the stream
        # sequence and the message id the stream must end with when it
        # arrives (its predecessor's), so if one is lost, say written just
        # before a reconnect, the server refuses every later one rather than
        # store it ahead of the lost one. The sequence alone would not do: a
        # message from anyone else shifts it by one and lets the next pass.
        futures: list[asyncio.Future[PubAck]] = []
        try:
            send_failure = await self._send(events, futures)
            acked, ack_failure = await self._await_acks(events, futures)
        finally:
            for future in futures:
                future.cancel()  # no-op once acked; a late ack is then ignored
        if acked:
            await self._store.set_checkpoint(self._checkpoint, events[acked - 1].global_position)
        failure = ack_failure or send_failure
        if failure is not None:
            raise failure

    async def _send(
        self, events: list[Envelope], futures: list[asyncio.Future[PubAck]]
    ) -> PublishFailed | None:
        for index, envelope in enumerate(events):
            message = encode(envelope, self._naming)
            expected = self._last_sequence + index
            if expected:  # 0 would mean "no check" to the server
                message.headers[EXPECTED_LAST_SEQUENCE] = str(expected)
            previous = str(events[index - 1].event_id) if index else self._last_event_id
            if previous is not None:
                message.headers[EXPECTED_LAST_MSG_ID] = previous
            try:
                future = await self._acks.publish(message.subject, message.payload, message.headers)
            except (nats.errors.Error, OSError) as exc:
                return PublishFailed(envelope, exc)
            futures.append(future)
        return None

    async def _await_acks(
        self, events: list[Envelope], futures: list[asyncio.Future[PubAck]]
    ) -> tuple[int, PublishFailed | None]:
        loop = asyncio.get_running_loop()
        acked = 0
        try:
            # One deadline, renewed before each ack we must wait for: awaiting
            # an ack that is already in does not yield to the loop, and most are.
            async with asyncio.timeout(None) as deadline:
                for envelope, future in zip(events, futures, strict=False):
                    if not future.done():
                        deadline.reschedule(loop.time() + self._ack_timeout)
                    self._record(envelope, await future)
                    acked += 1
        except (PublishRejected, nats.errors.Error, TimeoutError, ValueError) as exc:
            return acked, PublishFailed(events[acked], exc)
        return acked, None

    def _record(self, envelope: Envelope, ack: PubAck) -> None:
        if ack.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.published += 1
            self._last_sequence = ack.seq
            self._last_event_id = str(envelope.event_id)
            self.stats.last_sequence = ack.seq
        self._after = envelope.global_position
        self.stats.last_position = envelope.global_position

    async def _measure_lag(self, read: int) -> None:
        if read < self._batch_size:
            self.stats.lag_events = 0  # everything readable went out
            return
        now = time.monotonic()
        if self._lag_counter is None or self._after is None or now - self._lag_measured_at < 1.0:
            return
        self._lag_measured_at = now
        self.stats.lag_events = await self._lag_counter(self._after)
