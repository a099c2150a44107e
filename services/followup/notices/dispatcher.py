"""The dispatcher: sends what is due in the outbox, each notice once.

Run one (or several, in several replicas) in any service's event loop. Each
round claims due notices with ``FOR UPDATE SKIP LOCKED`` and a lease in a short
transaction, sends them concurrently through the sender of their channel, and
records each outcome: ``sent`` with the provider's id, ``failed`` with a retry
after an exponential back-off, or ``dead`` when the error is permanent or the
tries are used up. Between rounds it sleeps until woken by NOTIFY on
``tousu_outbox``, until the next retry is due, or until the periodic re-check.

Delivery guarantee: a notice is claimed by one dispatcher at a time, so
replicas never send it concurrently. A dispatcher that dies (or is stopped)
while sending leaves the notice claimed; when the lease ends it is sent again.
The channel then sees it at least once, not exactly once, if the first send
had got through; SMTP offers no idempotency key, so e-mails carry a Message-ID
derived from the notice id, the same on every try, for the receiver to dedupe.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter

from tousu.services.followup.notices.claims import (
    Delivery,
    claim_due,
    mark_failed,
    mark_sent,
    next_due_in,
)
from tousu.services.followup.notices.model import NoticeChannel, NotificationRecord
from tousu.services.followup.notices.outbox import OUTBOX_CHANNEL
from tousu.services.followup.notices.sender import Sender, SendError
from tousu.services.followup.woken_rounds import MAX_PAUSE, in_background, run_woken_rounds
from tousu.shared.group_commit import GroupCommit
from tousu.shared.logs import get_logger, scrub_contacts
from tousu.shared.settings import NotifySection, load_settings

log = get_logger("tousu.notify")

_MIN_IDLE = 0.02  # seconds


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_max: float = 3600.0

    @classmethod
    def from_settings(cls, settings: NotifySection) -> RetryPolicy:
        return cls(settings.max_attempts, settings.backoff_base, settings.backoff_max)

    def retry_in(self, attempts: int) -> float | None:
        """Seconds to wait after the ``attempts``-th failed try; None: give up."""
        if attempts >= self.max_attempts:
            return None
        return float(min(self.backoff_base * 2 ** (attempts - 1), self.backoff_max))


class Dispatcher:
    """Sends the outbox's due notices on the channels it has senders for.

    Notices on a channel without a sender here stay pending for a dispatcher
    that has one. ``database_url`` is for the LISTEN connection of :meth:`run`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        senders: Mapping[NoticeChannel, Sender],
        *,
        database_url: str,
        settings: NotifySection | None = None,
        name: str | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not senders:
            raise ValueError("a dispatcher needs at least one sender")
        self.pool = pool
        self.senders = dict(senders)
        self.database_url = database_url
        self.settings = settings or load_settings().notify
        self.policy = RetryPolicy.from_settings(self.settings)
        self.name = name or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._channels = [c.value for c in self.senders]
        # Failures are visible per channel (an SMS gateway's as an SMTP server's),
        # beside the outbox rows and the log.
        self._outcomes = Counter(
            "tousu_notices_sent",
            "Notice send attempts by channel and outcome: sent, retried (failed, another "
            "try scheduled), dead (given up: a permanent refusal or the tries used up)",
            ["channel", "outcome"],
            registry=registry,
        )
        # Sends finishing together are recorded in one statement; each is
        # recorded as soon as a statement is free, not when its batch ends.
        self._sent: GroupCommit[Delivery, bool] = GroupCommit(
            "notify:sent",
            self._mark_sent,
            self._mark_one_sent,
            max_batch=self.settings.batch_size,
            transactions=1,
            registry=registry,
        )

    async def _mark_sent(self, deliveries: Sequence[Delivery]) -> list[bool]:
        return await mark_sent(self.pool, deliveries)

    async def _mark_one_sent(self, delivery: Delivery) -> bool:
        [kept] = await mark_sent(self.pool, [delivery])
        return kept

    async def run_once(self) -> int:
        """Claim one batch of due notices and send it; the number claimed."""
        token, batch = await claim_due(
            self.pool,
            channels=self._channels,
            limit=self.settings.batch_size,
            lease=self.settings.lease,
            max_attempts=self.policy.max_attempts,
            claimed_by=self.name,
        )
        if batch:
            await asyncio.gather(*(self._deliver(token, n) for n in batch))
        return len(batch)

    async def _deliver(self, token: uuid.UUID, n: NotificationRecord) -> None:
        bound = log.bind(notification_id=str(n.id), tracking_no=n.tracking_no, channel=n.channel)
        try:
            # Cut off well inside the lease, so that no successor takes the
            # notice over while this send could still get through.
            async with asyncio.timeout(self.settings.lease / 2):
                provider_id = await self.senders[n.channel].send(n)
        except SendError as exc:
            await self._failed(token, n, str(exc), exc.retryable, bound)
            return
        except TimeoutError:
            await self._failed(token, n, "send timed out", True, bound)
            return
        except Exception as exc:  # a sender's bug must not stop the dispatcher
            bound.exception("sender raised")
            await self._failed(token, n, f"{type(exc).__name__}: {exc}", True, bound)
            return
        self._outcomes.labels(n.channel.value, "sent").inc()
        if await self._sent.handle(Delivery(n.id, token, provider_id)):
            bound.info("notice sent", kind=n.kind, attempt=n.attempts, provider_id=provider_id)
        else:
            bound.warning("notice sent after its lease ran out", provider_id=provider_id)

    async def _failed(
        self, token: uuid.UUID, n: NotificationRecord, error: str, retryable: bool, bound: Any
    ) -> None:
        retry_in = self.policy.retry_in(n.attempts) if retryable else None
        # A provider's refusal may quote the recipient; the outbox keeps the
        # contact sealed, so its error column must not hold it in plain.
        error = scrub_contacts(error)
        await mark_failed(self.pool, n.id, token, error, retry_in)
        self._outcomes.labels(n.channel.value, "dead" if retry_in is None else "retried").inc()
        if retry_in is None:
            bound.error("notice dead", kind=n.kind, attempts=n.attempts, error=error)
        else:
            bound.warning(
                "notice failed, will retry", attempts=n.attempts, retry_in=retry_in, error=error
            )

    async def run(self) -> None:
        """Send due notices until cancelled."""

        async def round_() -> bool:
            # A full batch: more may be due right now.
            return await self.run_once() == self.settings.batch_size

        await run_woken_rounds(
            database_url=self.database_url,
            channel=OUTBOX_CHANNEL,
            round_=round_,
            idle_timeout=self._idle_timeout,
            max_pause=min(self.settings.recheck, MAX_PAUSE),
            failed="dispatcher round failed",
        )

    async def _idle_timeout(self) -> float:
        due_in = await next_due_in(self.pool, self._channels)
        if due_in is None:
            return self.settings.recheck
        # Due already yet not claimed: another dispatcher is claiming it right
        # now. A short pause, not a spin, until its claim commits.
        return max(_MIN_IDLE, min(due_in, self.settings.recheck))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Dispatcher]:
        """Run in the background for the duration of the block."""
        async with in_background(self.run, f"notify-dispatcher-{self.name}"):
            yield self
