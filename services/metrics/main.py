"""`tousu service metrics`: supervision (督办) now; projections and KPIs follow."""

from __future__ import annotations

from shared.domain import commands as c
from shared.service import ServiceSpec, run_service
from shared.settings import Settings

SPEC = ServiceSpec(name="metrics", commands={"supervise": c.RaiseSupervision})


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
