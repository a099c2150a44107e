"""`tousu service handling`: investigation, plan, progress, extension, result, feedback."""

from __future__ import annotations

from tousu.shared.application.catalogue import HANDLING
from tousu.shared.service import ServiceSpec, run_service
from tousu.shared.settings import Settings

SPEC = ServiceSpec.of(HANDLING)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
