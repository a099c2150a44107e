"""`tousu service metrics`: the projections (case view, KPI facts), the deadline
watcher (督办) and the supervision commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.metrics.projections import PROJECTIONS
from services.metrics.projections.live import ProjectionRunner
from shared.domain import commands as c
from shared.relay.tasks import cancel_and_wait
from shared.service import Runtime, ServiceSpec, run_service
from shared.settings import Settings


@asynccontextmanager
async def projecting(runtime: Runtime) -> AsyncIterator[None]:
    runner = ProjectionRunner(runtime.store, PROJECTIONS, lambda: runtime.context.calendar)
    await runner.prepare()
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        await cancel_and_wait(task)


SPEC = ServiceSpec(
    name="metrics",
    commands={"supervise": c.RaiseSupervision},
    lifespan=projecting,
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
