"""`tousu service metrics`: supervision (督办), and the case index; KPIs follow."""

from __future__ import annotations

from services.gateway.complaints.index import case_index
from shared.domain import commands as c
from shared.service import ServiceSpec, run_service
from shared.settings import Settings

SPEC = ServiceSpec(
    name="metrics",
    commands={"supervise": c.RaiseSupervision},
    # The staff case list (GET /api/v1/complaints) reads this projection.
    consumers=lambda _runtime: [case_index()],
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
