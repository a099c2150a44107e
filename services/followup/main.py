"""`tousu service followup`: the satisfaction follow-up (回访), re-handling, closing."""

from __future__ import annotations

from shared.domain import commands as c
from shared.service import ServiceSpec, run_service
from shared.settings import Settings

SPEC = ServiceSpec(
    name="followup",
    commands={"follow-up": c.RecordFollowUp, "reopen": c.ReopenComplaint},
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
