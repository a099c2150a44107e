"""How every message of a durable consumer ends, whatever it carries.

Settling is always explicit (ack, nak with a delay, or term after the dead
letter is stored): FastStream runs the subscriber with ``AckPolicy.MANUAL`` so
it never rejects (terminates) a message on its own. A failure is retried with
the policy's back-off while its deliveries last (an outage for as long as it
lasts); then — or at once, for a message no retry can mend — it is copied with
its reason to the dead-letter stream, and terminated only once that copy is
stored: if storing it fails, the message is nak'd and comes back, never lost.
"""

from __future__ import annotations

import enum

from nats.aio.msg import Msg

from tousu.shared.consumer.dead_letter import DeadLetters, describe
from tousu.shared.consumer.policy import RetryPolicy, is_outage
from tousu.shared.logs import get_logger

log = get_logger("tousu.consumer")


class Outcome(enum.StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"  # handled before (redelivery, or another replica won)
    RETRYING = "retrying"
    DEAD_LETTERED = "dead_lettered"


class Settler:
    """Settles the messages of durable consumer ``durable`` (also its DLQ subject)."""

    def __init__(self, durable: str, dead_letters: DeadLetters, policy: RetryPolicy) -> None:
        self.durable = durable
        self._dead_letters = dead_letters
        self._policy = policy

    async def handled(self, msg: Msg, *, replay: bool = False) -> None:
        await msg.ack()
        await self._forget_replay(msg, replay)

    async def failed(
        self, msg: Msg, error: Exception, *, replay: bool = False, **context: object
    ) -> Outcome:
        """Handling ``msg`` raised ``error``: try again later, or dead-letter it
        once its deliveries are used up. ``context``: more for the log line."""
        deliveries = msg.metadata.num_delivered or 1
        if self._policy.gives_up(error, deliveries):
            return await self.dead_letter(msg, error, replay=replay)
        outage = is_outage(error)
        delay = self._policy.backoff(deliveries)
        log.warning(
            "handler failed, will retry",
            **context,
            deliveries=deliveries,
            retry_in=delay,
            outage=outage,
            error=describe(error),
            exc_info=not outage,
        )
        await msg.nak(delay=delay)
        return Outcome.RETRYING

    async def dead_letter(self, msg: Msg, error: BaseException, *, replay: bool = False) -> Outcome:
        """Copy ``msg`` with ``error`` to the DLQ, then terminate it; if the copy
        cannot be stored, nak it instead, so it is tried again."""
        deliveries = msg.metadata.num_delivered or 1
        try:
            ack = await self._dead_letters.publish(self.durable, msg, error, deliveries)
        except Exception:
            # Not stored, so not settled either: try the whole thing again later.
            delay = self._policy.backoff(deliveries)
            log.exception("dead-lettering failed, will retry", retry_in=delay)
            await msg.nak(delay=delay)
            return Outcome.RETRYING
        await msg.term()
        await self._forget_replay(msg, replay)
        log.error(
            "message dead-lettered",
            dlq_seq=ack.seq,
            deliveries=deliveries,
            error=describe(error),
            subject=msg.subject,
        )
        return Outcome.DEAD_LETTERED

    async def _forget_replay(self, msg: Msg, replay: bool) -> None:
        if not replay:
            return
        try:
            await self._dead_letters.discard_replay(msg)
        except Exception:
            # Settled already; a leftover replay copy is untidy, not wrong.
            log.warning("could not delete the replayed DLQ message", exc_info=True)
