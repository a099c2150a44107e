"""`tousu service gateway`: serve the FastAPI app with uvicorn."""

from __future__ import annotations

import uvicorn

from tousu.services.gateway.app import create_app
from tousu.shared.http_server import QuietServer, serve_until_cancelled
from tousu.shared.settings import Settings

# Seconds the requests in flight get to finish once the gateway is told to
# stop; `tousu up` kills a child that is still running after 10.
GRACEFUL_SHUTDOWN = 5


def server_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # structlog owns the root logger
        access_log=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # The app believes X-Forwarded-For from TOUSU_TRUSTED_PROXIES only;
        # uvicorn's default would trust it from 127.0.0.1 (or FORWARDED_ALLOW_IPS),
        # so that anyone on the host, or any local proxy that passes the header
        # on, could pick the address rate limits count.
        proxy_headers=False,
    )


async def run(settings: Settings) -> None:
    await serve_until_cancelled(QuietServer(server_config(settings)))
