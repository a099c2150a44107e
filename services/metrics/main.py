"""`tousu service metrics`: the projections (case view, KPI facts), the deadline
watcher (督办) and the supervision commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tousu.services.metrics.overdue_gauge import OverdueCases
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.live import ProjectionRunner
from tousu.services.metrics.watcher import DeadlineWatcher
from tousu.shared.application.catalogue import METRICS
from tousu.shared.service import Runtime, ServiceSpec, run_service
from tousu.shared.settings import Settings
from tousu.shared.tasks import cancel_and_wait


@asynccontextmanager
async def projecting_and_watching(runtime: Runtime) -> AsyncIterator[None]:
    runner = ProjectionRunner(runtime.store, PROJECTIONS, lambda: runtime.context.calendar)
    await runner.prepare()
    watcher = DeadlineWatcher(
        runtime.store.pool,
        runtime.executor,
        lambda: runtime.context.calendar,
        interval=runtime.settings.supervision_interval,
    )
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(watcher.run())]
    try:
        yield
    finally:
        for task in tasks:
            await cancel_and_wait(task)


SPEC = ServiceSpec.of(
    METRICS,
    lifespan=projecting_and_watching,
    scrape_sources=lambda runtime: [OverdueCases(runtime.registry, runtime.store.pool)],
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
