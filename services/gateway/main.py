"""`tousu service gateway`: serve the FastAPI app with uvicorn."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from shared.http_server import QuietServer, serve_until_cancelled
from shared.settings import Settings

# Seconds the requests in flight get to finish once the gateway is told to
# stop; `tousu up` kills a child that is still running after 10.
GRACEFUL_SHUTDOWN = 5


async def run(settings: Settings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # structlog owns the root logger
        access_log=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    await serve_until_cancelled(QuietServer(config))
