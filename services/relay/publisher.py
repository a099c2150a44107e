"""The relay's publishing loop: read in commit order, publish, checkpoint after the acks.

An event that cannot be published at all (see :mod:`tousu.services.relay.quarantine`)
is set aside and counts as handled, so it never holds up the events after it;
trouble that passes (NATS or the database down, a timeout) is waited out and
retried, never set aside.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import PubAck

from tousu.services.relay import quarantine
from tousu.services.relay.acks import AckInbox, PublishRejected
from tousu.services.relay.message import (
    EXPECTED_LAST_MSG_ID,
    EXPECTED_LAST_SEQUENCE,
    RELEASED,
    OutgoingMessage,
    Unpublishable,
    encode,
)
from tousu.services.relay.reader import Item, Unreadable, read_event, read_items
from tousu.services.relay.tail import ResumePoint, find_resume_point
from tousu.shared.events import Envelope
from tousu.shared.logs import bound_contextvars, get_logger
from tousu.shared.naming import Naming
from tousu.shared.store import Wakeup
from tousu.shared.store.postgres import IdleWait, PostgresEventStore

log = get_logger(__name__)

CHECKPOINT = "relay"
# JetStream's refusals of Nats-Expected-Last-Msg-Id and -Sequence.
OUT_OF_SEQUENCE = frozenset({10070, 10071})
# JetStream's refusals of the message itself (its size, its headers' size):
# sent again it would be refused again. Older servers give no err_code, only
# the description. Stream-wide limits (storage full, too many messages) are
# not among them: they pass when the operator acts, and every later event
# would meet them too.
MESSAGE_REFUSED = frozenset({10054})
_MESSAGE_REFUSED_TEXT = "exceeds maximum"
# The client refuses these before sending: the message can never go out.
_CLIENT_REFUSED = (
    nats.errors.MaxPayloadError,
    nats.errors.BadSubjectError,
    nats.errors.BadHeaderError,
)

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
    quarantined: int = 0  # events this process set aside
    republished: int = 0  # released events this process published again


class PublishFailed(Exception):
    """A publish was not acknowledged; events from ``envelope`` on are not known stored."""

    def __init__(self, envelope: Envelope, cause: BaseException) -> None:
        super().__init__(f"publishing event {envelope.event_id} failed: {cause!r}")
        self.envelope = envelope
        self.cause = cause

    @property
    def out_of_sequence(self) -> bool:
        return isinstance(self.cause, PublishRejected) and self.cause.err_code in OUT_OF_SEQUENCE

    @property
    def permanent(self) -> bool:
        """Whether the message itself is at fault: trying again cannot help."""
        cause = self.cause
        if isinstance(cause, _CLIENT_REFUSED):
            return True
        return isinstance(cause, PublishRejected) and (
            cause.err_code in MESSAGE_REFUSED or _MESSAGE_REFUSED_TEXT in cause.description
        )


class Relay:
    """Publishes the store's events to the events stream, in commit order.

    Leadership is not its concern: run :meth:`run` only while leading (see
    :mod:`tousu.services.relay.leader`); cancelling it stops publishing at once.
    """

    def __init__(
        self,
        store: PostgresEventStore,
        nc: NatsClient,
        naming: Naming,
        *,
        batch_size: int = 500,
        idle_recheck: float = 2.0,
        quiet_recheck: float = 30.0,
        ack_timeout: float = 5.0,
        backoff_base: float = 0.1,
        backoff_max: float = 5.0,
        checkpoint: str = CHECKPOINT,
        checkpoint_interval: float = 0.0,
        lag_counter: LagCounter | None = None,
    ) -> None:
        self._store = store
        self._nc = nc
        self._js = nc.jetstream()
        self._acks = AckInbox(nc)
        self._naming = naming
        self._batch_size = batch_size
        self._idle_recheck = idle_recheck
        self._quiet_recheck = quiet_recheck
        self._ack_timeout = ack_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._checkpoint = checkpoint
        # The checkpoint is written at most this often while publishing, and
        # once this long after the last publish; the quarantine's released
        # events are looked for as often.
        self._checkpoint_interval = checkpoint_interval
        self._checkpointed = 0  # the position written last
        self._checkpointed_at = 0.0
        self._released_checked_at = 0.0
        # Whether an event read may be in the quarantine already: looked up on
        # resuming (only a leader sets events aside), so a relay whose
        # quarantine is empty does not ask with every batch.
        self._quarantine_in_use = True
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
        self._checkpointed, self._checkpointed_at = point.after, time.monotonic()
        self._quarantine_in_use = await quarantine.in_use(self._store.pool)
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
        events = await read_items(self._store, self._after, self._batch_size)
        now = time.monotonic()
        # Looked for when woken with nothing new to publish (a release sends
        # a NOTIFY of its own), and at least once an interval while busy.
        if not events or now - self._released_checked_at >= self._checkpoint_interval:
            self._released_checked_at = now
            await self._republish_released()
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
        """Publish forever, waking on appends (when idle, as
        :class:`~tousu.shared.store.postgres.IdleWait` says); NATS or database
        trouble is retried."""
        self._after = None  # a new term trusts only what the stream holds now
        backoff = self._backoff_base
        while True:
            try:
                async with self._store.wakeup() as wakeup:
                    idle = IdleWait(
                        self._store, recheck=self._idle_recheck, quiet_recheck=self._quiet_recheck
                    )
                    while True:
                        read = await self.publish_next_batch()
                        backoff = self._backoff_base
                        await self._measure_lag(read)
                        if read < self._batch_size:
                            await self._wait(idle, wakeup, read)
            except PublishFailed as failed:
                self._failed(failed)
                if failed.out_of_sequence or failed.permanent:
                    # Not an outage (and a refused message is set aside by
                    # now): re-read the stream's tail right away.
                    continue
            except _RETRIED as exc:
                self.stats.failures += 1
                log.warning("relay trouble; retrying", error=repr(exc), retry_in=backoff)
            self._after = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._backoff_max)

    async def _wait(self, idle: IdleWait, wakeup: Wakeup, read: int) -> None:
        """Wait for more to publish; a checkpoint left behind is written once
        its interval has passed, whether or not more came meanwhile."""
        due = None
        if self._after is not None and self._after != self._checkpointed:
            due = self._checkpoint_interval - (time.monotonic() - self._checkpointed_at)
            if due <= 0:
                await self._write_checkpoint()
                due = None
        woken = await idle.wait(wakeup, read, at_most=due)
        if due is not None and not woken and self._after != self._checkpointed:
            if time.monotonic() - self._checkpointed_at >= self._checkpoint_interval:
                await self._write_checkpoint()

    async def _write_checkpoint(self) -> None:
        assert self._after is not None
        await self._store.set_checkpoint(self._checkpoint, self._after)
        self._checkpointed, self._checkpointed_at = self._after, time.monotonic()

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

    async def _publish(self, events: list[Item]) -> None:
        # Order: all publishes go out on one connection, in commit order, so
        # the server receives them in that order. Each also names the stream
        # sequence and the message id the stream must end with when it
        # arrives (its predecessor's), so if one is lost, say written just
        # before a reconnect, the server refuses every later one rather than
        # store it ahead of the lost one. The sequence alone would not do: a
        # message from anyone else shifts it by one and lets the next pass.
        outgoing = await self._sendable(events)
        futures: list[asyncio.Future[PubAck]] = []
        try:
            send_failure = await self._send(outgoing, futures)
            acked, ack_failure = await self._await_acks(outgoing, futures, in_order=True)
        finally:
            for future in futures:
                future.cancel()  # no-op once acked; a late ack is then ignored
        # Handled: every event before the first one not acknowledged, those
        # set aside included, so the checkpoint (and the lag) pass them too.
        handled = len(events)
        if acked < len(outgoing):
            first_unacked = outgoing[acked][0]
            handled = next(i for i, e in enumerate(events) if e is first_unacked)
        if handled:
            self._after = events[handled - 1].global_position
            if time.monotonic() - self._checkpointed_at >= self._checkpoint_interval:
                await self._write_checkpoint()
        failure = ack_failure or send_failure
        if failure is not None:
            if failure.permanent:
                # Those sent after it were refused (they expected it before
                # them): the next round resumes from the stream's tail.
                await self._set_aside(failure.envelope, quarantine.REJECTED, str(failure.cause))
            raise failure

    async def _sendable(self, events: list[Item]) -> list[tuple[Envelope, OutgoingMessage]]:
        """The events' messages, less those in the quarantine and those set aside now."""
        held = (
            await quarantine.handled_among(self._store.pool, [e.event_id for e in events])
            if self._quarantine_in_use
            else set()
        )
        outgoing: list[tuple[Envelope, OutgoingMessage]] = []
        for envelope in events:
            if envelope.event_id in held:
                continue
            sendable = await self._message_or_set_aside(envelope)
            if sendable is not None:
                outgoing.append(sendable)
        return outgoing

    async def _message_or_set_aside(
        self, envelope: Item
    ) -> tuple[Envelope, OutgoingMessage] | None:
        """The event with its message, or None once it is set aside
        (unreadable, or no message can carry it)."""
        if isinstance(envelope, Unreadable):
            await self._set_aside(envelope, quarantine.UNREADABLE, envelope.error)
            return None
        try:
            return envelope, encode(envelope, self._naming, self._nc.max_payload)
        except Unpublishable as exc:
            await self._set_aside(envelope, exc.reason, exc.detail)
            return None

    async def _set_aside(self, envelope: Item, reason: str, detail: str) -> None:
        await quarantine.set_aside(self._store.pool, envelope, reason, detail)
        self._quarantine_in_use = True
        self.stats.quarantined += 1
        with bound_contextvars(event_id=str(envelope.event_id)):
            log.error(
                "relay set an event aside: it cannot be published",
                reason=reason,
                detail=detail,
                global_position=envelope.global_position,
                event_type=envelope.type,
            )

    async def _republish_released(self) -> None:
        """Publish the events an operator released, each at the stream's end.

        Marked as released, so that resuming from the tail never takes one
        for the relay's position in commit order.
        """
        for entry in await quarantine.released(self._store.pool, self._batch_size):
            envelope = await read_event(self._store.pool, entry.event_id)
            if envelope is None:
                continue  # not in the store (any more): nothing to publish
            sendable = await self._message_or_set_aside(envelope)
            if sendable is None:
                continue
            envelope, message = sendable
            message.headers[RELEASED] = "1"
            futures: list[asyncio.Future[PubAck]] = []
            try:
                failure = await self._send([(envelope, message)], futures)
                if failure is None:
                    _, failure = await self._await_acks(
                        [(envelope, message)], futures, in_order=False
                    )
            finally:
                for future in futures:
                    future.cancel()
            if failure is not None and failure.permanent:
                await self._set_aside(envelope, quarantine.REJECTED, str(failure.cause))
                continue
            if failure is not None:
                raise failure
            await quarantine.mark_published(self._store.pool, entry.event_id)
            self.stats.republished += 1
            log.info(
                "relay published a released event",
                event_id=str(entry.event_id),
                global_position=entry.global_position,
            )

    async def _send(
        self,
        outgoing: list[tuple[Envelope, OutgoingMessage]],
        futures: list[asyncio.Future[PubAck]],
    ) -> PublishFailed | None:
        for index, (envelope, message) in enumerate(outgoing):
            expected = self._last_sequence + index
            if expected:  # 0 would mean "no check" to the server
                message.headers[EXPECTED_LAST_SEQUENCE] = str(expected)
            previous = str(outgoing[index - 1][0].event_id) if index else self._last_event_id
            if previous is not None:
                message.headers[EXPECTED_LAST_MSG_ID] = previous
            try:
                future = await self._acks.publish(message.subject, message.payload, message.headers)
            except (nats.errors.Error, OSError) as exc:
                return PublishFailed(envelope, exc)
            futures.append(future)
        return None

    async def _await_acks(
        self,
        outgoing: list[tuple[Envelope, OutgoingMessage]],
        futures: list[asyncio.Future[PubAck]],
        *,
        in_order: bool,
    ) -> tuple[int, PublishFailed | None]:
        loop = asyncio.get_running_loop()
        acked = 0
        try:
            # One deadline, renewed before each ack we must wait for: awaiting
            # an ack that is already in does not yield to the loop, and most are.
            async with asyncio.timeout(None) as deadline:
                for (envelope, _), future in zip(outgoing, futures, strict=False):
                    if not future.done():
                        deadline.reschedule(loop.time() + self._ack_timeout)
                    self._record(envelope, await future, in_order=in_order)
                    acked += 1
        except (PublishRejected, nats.errors.Error, TimeoutError, ValueError) as exc:
            return acked, PublishFailed(outgoing[acked][0], exc)
        return acked, None

    def _record(self, envelope: Envelope, ack: PubAck, *, in_order: bool) -> None:
        if ack.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.published += 1
            self._last_sequence = ack.seq
            self._last_event_id = str(envelope.event_id)
            self.stats.last_sequence = ack.seq
        if in_order:
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
