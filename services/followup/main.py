"""`tousu service followup`: the satisfaction follow-up (回访), re-handling, closing,
and the notices to complainants (consumer ``notifier`` and the outbox dispatcher),
and the departments' webhooks (consumer ``webhooks`` and its dispatcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from tousu.services.followup.notifier import dispatching, notifier
from tousu.services.followup.webhooks.active import ActiveDepartments
from tousu.services.followup.webhooks.consumer import (
    PendingDeliveries,
    webhook_dispatching,
    webhooks_consumer,
)
from tousu.shared.application.catalogue import FOLLOWUP
from tousu.shared.consumer import Consumer
from tousu.shared.service import Runtime, ServiceSpec, run_service
from tousu.shared.settings import Settings


def active_webhooks(_runtime: Runtime) -> ActiveDepartments:
    """The process's one view of which departments have an active webhook."""
    return ActiveDepartments()


def consumers(runtime: Runtime) -> Sequence[Consumer]:
    return (notifier(runtime.context.render), webhooks_consumer(runtime.part(active_webhooks)))


@asynccontextmanager
async def background(runtime: Runtime) -> AsyncIterator[None]:
    """Both dispatchers (the notices' and the webhooks'), and the active webhooks kept."""
    assert runtime.settings.database_url is not None  # run_service checked it
    active = runtime.part(active_webhooks).kept(runtime.store.pool, runtime.settings.database_url)
    async with active, dispatching(runtime), webhook_dispatching(runtime):
        yield


SPEC = ServiceSpec.of(
    FOLLOWUP,
    consumers=consumers,
    lifespan=background,
    scrape_sources=lambda runtime: [PendingDeliveries(runtime.registry, runtime.store.pool)],
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
