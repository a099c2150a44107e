"""The webhook dispatcher: POSTs each active department's next delivery.

Each round claims, per department, the first open delivery if it is due (one
in flight per department, in position order: see ``deliveries``), posts them
concurrently, logs each attempt and records the outcome: a 2xx answer is
delivered; anything else (another status, a refused connection, a timeout)
is tried again after an exponential back-off with jitter, until
``give_up_hours`` after the first try, then failed. A delivered one lets the
department's next go at once. Between rounds it sleeps until woken by NOTIFY
on ``tousu_webhooks``, until the next retry is due, or the re-check.

At least once: a dispatcher that dies while posting leaves its claim to run
out, and the delivery is posted again, with the same ``Tousu-Webhook-Id``
for the receiver to deduplicate by.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from prometheus_client import CollectorRegistry, Counter

from tousu.services.followup.webhooks import deliveries as log_
from tousu.services.followup.webhooks.deliveries import WEBHOOKS_CHANNEL, Attempt, Claimed
from tousu.services.followup.webhooks.signing import headers
from tousu.services.followup.woken_rounds import MAX_PAUSE, in_background, run_woken_rounds
from tousu.shared.logs import get_logger
from tousu.shared.settings import WebhooksSection

log = get_logger("tousu.webhooks")

_MIN_IDLE = 0.02  # seconds
# While the xmin rule holds a committed delivery back (a transaction still
# open on the server), look again this soon.
_HELD_POLL = 0.05


@dataclass(frozen=True)
class Backoff:
    base: float = 5.0
    maximum: float = 300.0
    give_up: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: WebhooksSection) -> Backoff:
        return cls(
            settings.backoff_base, settings.backoff_max, timedelta(hours=settings.give_up_hours)
        )

    def retry_in(
        self,
        attempt: int,
        first_attempt_at: datetime,
        now: datetime,
        jitter: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait after the ``attempt``-th failed try; None: give up.

        Jittered between half and all of the capped exponential delay, so that
        departments failing together do not retry in step.
        """
        if now - first_attempt_at >= self.give_up:
            return None
        delay = min(self.base * 2 ** (attempt - 1), self.maximum)
        return float(delay * (0.5 + jitter() / 2))


def _counter(registry: CollectorRegistry | None) -> Counter:
    return Counter(
        "tousu_webhook_deliveries",
        "Webhook delivery attempts by department and outcome: delivered (2xx), retried "
        "(failed, another try scheduled), failed (given up)",
        ["department", "outcome"],
        registry=registry,
    )


class WebhookDispatcher:
    """Posts the departments' due deliveries. ``database_url`` is for LISTEN."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        database_url: str,
        settings: WebhooksSection | None = None,
        name: str | None = None,
        registry: CollectorRegistry | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.pool = pool
        self.database_url = database_url
        self.settings = settings or WebhooksSection()
        self.backoff = Backoff.from_settings(self.settings)
        self.name = name or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._client = client
        self._outcomes = _counter(registry)

    async def run_once(self) -> int:
        """Claim each department's due delivery and post them; how many were claimed."""
        token, batch = await log_.claim(self.pool, lease=self.settings.lease, claimed_by=self.name)
        if batch:
            await asyncio.gather(*(self._deliver(token, d) for d in batch))
        return len(batch)

    async def _deliver(self, token: uuid.UUID, d: Claimed) -> None:
        bound = log.bind(delivery_id=str(d.id), department=d.department, attempt=d.attempt)
        body = d.body.encode()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            assert self._client is not None
            response = await self._client.post(
                d.url,
                content=body,
                headers=headers(d.secret, str(d.id), d.event_type, body),
                timeout=self.settings.timeout,
            )
            code = response.status_code
            if not response.is_success:
                said = response.text[:200].strip()
                error = f"HTTP {code}: {said}" if said else f"HTTP {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # a bug must not stop the dispatcher
            bound.exception("webhook post raised")
            error = f"{type(exc).__name__}: {exc}"
        attempt = Attempt(started_at, (time.perf_counter() - started) * 1000, code, error)
        delivered = error is None
        retry_in = (
            None
            if delivered
            else self.backoff.retry_in(d.attempt, d.first_attempt_at, datetime.now(UTC))
        )
        kept = await log_.record(
            self.pool, d, token, attempt, delivered=delivered, retry_in=retry_in
        )
        if not kept:
            bound.warning("webhook outcome after the claim ran out", status_code=code)
            return
        outcome = "delivered" if delivered else "retried" if retry_in is not None else "failed"
        self._outcomes.labels(department=d.department, outcome=outcome).inc()
        if delivered:
            bound.info("webhook delivered", status_code=code, ms=round(attempt.duration_ms, 1))
        elif retry_in is not None:
            bound.warning("webhook failed, will retry", error=error, retry_in=round(retry_in, 2))
        else:
            bound.error("webhook given up", error=error)

    async def run(self) -> None:
        """Deliver until cancelled."""
        own_client = self._client is None
        if own_client:
            # No redirects: a signed body goes only where it was configured to.
            self._client = httpx.AsyncClient(follow_redirects=False)

        async def round_() -> bool:
            # Something was posted: the departments' next may be due at once.
            return bool(await self.run_once())

        try:
            await run_woken_rounds(
                database_url=self.database_url,
                channel=WEBHOOKS_CHANNEL,
                round_=round_,
                idle_timeout=self._idle_timeout,
                max_pause=min(self.settings.recheck, MAX_PAUSE),
                failed="webhook round failed",
            )
        finally:
            if own_client and self._client is not None:
                await self._client.aclose()
                self._client = None

    async def _idle_timeout(self) -> float:
        due_in = await log_.next_due_in(self.pool)
        timeout = self.settings.recheck if due_in is None else max(_MIN_IDLE, due_in)
        if timeout > _HELD_POLL and await log_.held_back(self.pool):
            return _HELD_POLL
        return min(timeout, self.settings.recheck)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookDispatcher]:
        """Run in the background for the duration of the block."""
        async with in_background(self.run, f"webhook-dispatcher-{self.name}"):
            yield self
