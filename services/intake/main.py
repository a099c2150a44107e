"""`tousu service intake`: acceptance (受理) or rejection, and duplicates."""

from __future__ import annotations

from shared.domain import commands as c
from shared.service import ServiceSpec, run_service
from shared.settings import Settings

SPEC = ServiceSpec(
    name="intake",
    commands={"accept": c.AcceptComplaint, "reject": c.RejectComplaint},
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
