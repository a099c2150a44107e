"""Consumer ``webhooks``: one delivery per (department, event) for the events of
a department's cases, written with the consumer's tracking row; the
dispatcher that posts them; the gauge of what waits.

The delivery commits with the tracking row (``uow.defer``), so it exists if
and only if the event counted as handled, and its id derives from the
department and the event, so a redelivered message adds nothing. A
department without an active webhook when the event is handled gets no
delivery (``tousu webhooks replay`` sends it the past).

Imported history (``tousu import``: years of an earlier system's cases,
stored at once with their real dates) gets no delivery either, as it gets no
notice (services/followup/notifier.py): a department's system would be
flooded with cases its department finished long ago, in the old system.
``tousu webhooks replay --include-imported`` sends them to a department that
wants to load its history once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from tousu.services.followup.webhooks import payload
from tousu.services.followup.webhooks.active import ActiveDepartments
from tousu.services.followup.webhooks.deliveries import (
    WEBHOOKS_CHANNEL,
    delivery_for,
    insert,
    pending_by_department,
)
from tousu.services.followup.webhooks.dispatcher import WebhookDispatcher
from tousu.services.followup.webhooks.endpoints import is_active
from tousu.shared.consumer import Consumer
from tousu.shared.domain.imports import imported_versions
from tousu.shared.events import Envelope
from tousu.shared.logs import get_logger
from tousu.shared.service import Runtime
from tousu.shared.store import UnitOfWork
from tousu.shared.store.postgres import Connection, PgUnitOfWork, read_streams

log = get_logger("tousu.webhooks")

CONSUMER = "webhooks"
EVENT_TYPES = payload.EVENT_TYPES


def webhooks_consumer(active: ActiveDepartments | None = None) -> Consumer:
    """``active``: the departments with an active webhook, kept in memory, so
    that the events of the others are acked with no transaction."""

    async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        department = payload.target(envelope)
        if department is None:
            return
        if not isinstance(uow, PgUnitOfWork):  # the deliveries are a PostgreSQL table
            raise TypeError("the webhooks consumer needs the PostgreSQL event store")
        if not await is_active(uow.connection, department):
            # Nothing written and no dispatcher woken: the common case, a
            # department with no webhook, costs one read.
            return
        uow.defer(_enqueuer(envelope, department))
        uow.wake_after_commit(WEBHOOKS_CHANNEL)

    # Deliveries are at least once (their id makes a repeat harmless): an
    # event that needed none is not tracked, so a deployment without webhooks
    # commits read-only transactions here.
    return Consumer(
        CONSUMER,
        handle,
        event_types=EVENT_TYPES,
        record_no_ops=False,
        wants=active.wants if active is not None else None,
    )


def _enqueuer(envelope: Envelope, department: str) -> Callable[[Connection], Awaitable[None]]:
    async def write(conn: Connection) -> None:
        # The stream up to this event: a redelivery builds the same body.
        history = (await read_streams(conn, [envelope.stream_id]))[envelope.stream_id]
        if envelope.version in imported_versions(history):
            # An earlier system's record (its mark follows it in the same
            # append, so the stream read here always has it): not sent live.
            return
        if await insert(conn, [delivery_for(envelope, history, department)]):
            log.info("webhook delivery queued", department=department, event_type=envelope.type)

    return write


class PendingDeliveries:
    """``tousu_webhook_deliveries_pending`` and the oldest one's age, per
    department, read at each scrape."""

    name = "webhook_deliveries"

    def __init__(self, registry: CollectorRegistry, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending = Gauge(
            "tousu_webhook_deliveries_pending",
            "Webhook deliveries not yet made (never tried, being tried, or to be retried)",
            ["department"],
            registry=registry,
        )
        self._age = Gauge(
            "tousu_webhook_oldest_pending_seconds",
            "Age of each department's oldest webhook delivery not yet made",
            ["department"],
            registry=registry,
        )

    async def refresh(self) -> None:
        pending = await pending_by_department(self._pool)
        self._pending.clear()
        self._age.clear()
        for department, (count, age) in pending.items():
            self._pending.labels(department=department).set(count)
            self._age.labels(department=department).set(age)


@asynccontextmanager
async def webhook_dispatching(runtime: Runtime) -> AsyncIterator[WebhookDispatcher]:
    """The webhook dispatcher, running for as long as the service does."""
    settings = runtime.settings
    assert settings.database_url is not None  # run_service checked it
    dispatcher = WebhookDispatcher(
        runtime.store.pool,
        database_url=settings.database_url,
        settings=settings.webhooks,
        name=f"followup:{uuid.uuid4().hex[:8]}",
        registry=runtime.registry,
    )
    async with dispatcher.running():
        log.info("webhook dispatcher running")
        yield dispatcher
