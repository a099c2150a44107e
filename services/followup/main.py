"""`tousu service followup`."""

from __future__ import annotations

from shared.service import run_service
from shared.settings import Settings


async def run(settings: Settings) -> None:
    await run_service(settings, "followup")
