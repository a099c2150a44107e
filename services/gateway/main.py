"""`tousu service gateway`: serve the FastAPI app with uvicorn."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from shared.settings import Settings


async def run(settings: Settings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # structlog owns the root logger
        access_log=True,
    )
    await uvicorn.Server(config).serve()
