"""`tousu service metrics`: the projections (case view, KPI facts), the deadline
watcher (督办), the supervision commands, and the attachment sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from tousu.services.metrics import case_read, status
from tousu.services.metrics.hotspots.surge import HotspotRule
from tousu.services.metrics.hotspots.watcher import HotspotWatcher
from tousu.services.metrics.improvements import closing, opening
from tousu.services.metrics.inspection import service as inspection
from tousu.services.metrics.overdue_gauge import OverdueCases
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.live import ProjectionRunner
from tousu.services.metrics.watcher import DeadlineWatcher
from tousu.shared.application.catalogue import METRICS
from tousu.shared.attachments.store import store_for
from tousu.shared.attachments.sweeper import Sweeper
from tousu.shared.events import utcnow
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
    attachments = runtime.settings.attachments
    sweeper = Sweeper(
        runtime.store.pool,
        store_for(runtime.settings),
        grace=timedelta(hours=attachments.sweep_grace_hours),
        interval=attachments.sweep_interval,
        registry=runtime.registry,
    )
    tasks = [
        asyncio.create_task(runner.run()),
        asyncio.create_task(watcher.run()),
        asyncio.create_task(sweeper.run()),
    ]
    # Recurring problems (热点诉求): counts the complaint_terms projection.
    hotspots = HotspotWatcher(
        runtime.store,
        HotspotRule.of(runtime.settings.quality),
        interval=runtime.settings.quality.hotspot_interval,
    )
    tasks.append(asyncio.create_task(hotspots.run()))
    try:
        yield
    finally:
        for task in tasks:
            await cancel_and_wait(task)


SPEC = ServiceSpec.of(
    METRICS,
    requests=lambda runtime: {
        "case": case_read.request(runtime.store),
        "status": status.request(runtime.store),
        "improvement-close": closing.request(runtime.store, utcnow),
        "inspection-draw": inspection.draw_request(runtime.store, runtime.settings),
        "inspection-review": inspection.review_request(runtime.store, runtime.executor),
    },
    consumers=lambda runtime: [
        opening.improvements(
            lambda: runtime.context.calendar, runtime.settings.quality.improvement_days
        ),
    ],
    lifespan=projecting_and_watching,
    scrape_sources=lambda runtime: [OverdueCases(runtime.registry, runtime.store.pool)],
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
