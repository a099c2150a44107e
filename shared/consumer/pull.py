"""The durable consumers' way in: a batched nats-py pull loop.

Under load, FastStream's per-message path (decoding, dependency injection,
its logging and Prometheus middlewares, the ack wrapper) was about a quarter
of intake's CPU and nearly half of routing's (``py-spy --gil``,
docs/performance.md). The durable consumers of stored events and of channel
submissions are the hot path, so they are consumed here instead: one fetch
brings up to a batch, each message goes to its handler at once (handlers
share transactions through group commit), and each is acked as soon as it is
settled. FastStream keeps the services' requests, commands and pings, and
describes these subscriptions in the AsyncAPI document.

The loop asks for more while earlier messages are still being handled, up to
``2 × batch`` in flight, so the next batch is on its way while this one
commits. Idle, it is one lingering pull request per ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.prometheus.container import MetricsContainer
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import DEFAULT_PREFIX, Header, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram

from tousu.shared.consumer.settle import Outcome
from tousu.shared.logs import get_logger

log = get_logger("tousu.consumer")

# Handles one message and settles it; returns how (None: skipped and acked).
OnMessage = Callable[[Msg], Awaitable[Outcome | None]]

_STATUS = {
    Outcome.HANDLED: "acked",
    Outcome.DUPLICATE: "acked",
    Outcome.RETRYING: "nacked",
    Outcome.DEAD_LETTERED: "rejected",
    None: "acked",
}


class MessageMeter:
    """FastStream's own message metrics (``faststream_received_*``, the names the
    operations guide lists), recorded with children bound once per subject."""

    def __init__(self, registry: CollectorRegistry, app_name: str) -> None:
        # The container reuses the metrics a FastStream middleware registered already.
        self._metrics = MetricsContainer(registry, custom_label_names=())
        self._app = app_name
        self._received: dict[str, Counter] = {}
        self._durations: dict[str, Histogram] = {}
        self._processed: dict[tuple[str, str], Counter] = {}

    def observe(self, subject: str, status: str, seconds: float) -> None:
        received = self._received.get(subject)
        if received is None:
            labels = {"app_name": self._app, "broker": "nats", "handler": subject}
            received = self._received[subject] = self._metrics.received_messages_total.labels(
                **labels
            )
            self._durations[subject] = (
                self._metrics.received_processed_messages_duration_seconds.labels(**labels)
            )
        received.inc()
        self._durations[subject].observe(seconds)
        processed = self._processed.get((subject, status))
        if processed is None:
            processed = self._processed[(subject, status)] = (
                self._metrics.received_processed_messages_total.labels(
                    app_name=self._app, broker="nats", handler=subject, status=status
                )
            )
        processed.inc()

    def exception(self, subject: str, error: BaseException) -> None:
        self._metrics.received_processed_messages_exceptions_total.labels(
            app_name=self._app, broker="nats", handler=subject, exception_type=type(error).__name__
        ).inc()


@dataclass(frozen=True)
class PullRoute:
    """A durable consumer (already declared) of ``stream`` and what handles its messages."""

    stream: str
    durable: str
    on_message: OnMessage


class PullLoop:
    """Pulls ``route``'s messages and hands each to its handler as it arrives.

    One pull request at a time asks the server for up to a batch (bounded by
    the room left in flight) and lingers up to ``timeout`` for them; each
    message is handed on the moment it arrives, not when the batch is full
    (nats-py's ``fetch`` waits for the whole batch or the timeout, which at a
    routine rate holds every message for seconds). The request ends when the
    batch has come, or with the server's 404/408/409 status; then the next.

    Messages arrive through the subscription's callback, which starts each
    one's handling without yielding: the messages of one burst are all
    waiting when the first handler runs, so group commit writes them together.
    """

    def __init__(
        self,
        connection: NatsClient,
        route: PullRoute,
        *,
        batch: int,
        timeout: float,
        meter: MessageMeter | None = None,
    ) -> None:
        self._nc = connection
        self._route = route
        self._batch = batch
        self._timeout = timeout
        self._limit = 2 * batch
        self._meter = meter
        self._next = f"{DEFAULT_PREFIX}.CONSUMER.MSG.NEXT.{route.stream}.{route.durable}"
        self._pending: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self._request_over = asyncio.Event()
        self._wanted = 0
        self._received = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Checks that the durable exists (and fails loudly if it does not).
        await self._nc.jetstream().consumer_info(self._route.stream, self._route.durable)
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=self._arrived)
        self._task = asyncio.create_task(self._run(), name=f"pull:{self._route.durable}")

    async def stop(self) -> None:
        """Pull no more; let the messages in hand be handled and settled."""
        self._stopping = True
        task = self._task
        if task is None:
            return
        task.cancel()  # it only ever waits: on the server or for room
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()
        if self._pending:
            await asyncio.wait(set(self._pending))

    async def _run(self) -> None:
        while not self._stopping:
            room = self._limit - len(self._pending)
            if room <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            self._wanted, self._received = min(self._batch, room), 0
            self._request_over.clear()
            request = {"batch": self._wanted, "expires": int(self._timeout * 1e9)}
            try:
                await self._nc.publish(self._next, json.dumps(request).encode(), reply=self._inbox)
                # A little past the server's expiry: its 408 normally ends it first.
                await asyncio.wait_for(self._request_over.wait(), self._timeout + 1.0)
            except TimeoutError:
                continue
            except Exception as exc:  # a reconnect, a server restart: keep consuming
                durable = self._route.durable
                log.warning("pull failed; pulling again", durable=durable, error=str(exc))
                await asyncio.sleep(0.5)

    async def _arrived(self, msg: Msg) -> None:
        status = msg.headers.get(Header.STATUS) if msg.headers else None
        if status is not None:
            if status != StatusCode.CONTROL_MESSAGE:  # not a heartbeat
                self._request_over.set()  # 404 no messages, 408 expired, 409 a conflict
            return
        self._received += 1
        if self._received >= self._wanted:
            self._request_over.set()
        task = asyncio.create_task(self._one(msg))
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        self._room.set()

    async def _one(self, msg: Msg) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._route.on_message(msg)
        except Exception as exc:
            # The handlers settle what they take; this is a bug in settling
            # itself. The message is redelivered after its ack wait.
            log.exception("message not settled", durable=self._route.durable)
            if self._meter is not None:
                self._meter.exception(msg.subject, exc)
                self._meter.observe(msg.subject, "error", time.perf_counter() - started)
            return
        if self._meter is not None:
            self._meter.observe(msg.subject, _STATUS[outcome], time.perf_counter() - started)
