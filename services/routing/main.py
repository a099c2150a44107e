"""`tousu service routing`: dispatch to departments; claim (签收) and return (退单)."""

from __future__ import annotations

from shared.domain import commands as c
from shared.service import ServiceSpec, run_service
from shared.settings import Settings

SPEC = ServiceSpec(
    name="routing",
    commands={"route": c.RouteComplaint, "claim": c.ClaimCase, "return": c.ReturnCase},
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
