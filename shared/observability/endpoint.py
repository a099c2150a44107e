"""``/metrics``, ``/healthz`` and ``/readyz`` of a NATS service or the relay.

Served on ``TOUSU_METRICS_PORT`` (0: a free port, logged as ``metrics
endpoint listening``) and ``TOUSU_HTTP_HOST``, by uvicorn inside the process's
own event loop; unset, nothing is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping, Sequence

import uvicorn
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tousu.shared.http_server import QuietServer
from tousu.shared.logs import get_logger
from tousu.shared.observability.readiness import Check, readiness
from tousu.shared.observability.scrape import Refresher, ScrapeSource
from tousu.shared.settings import Settings

log = get_logger(__name__)


def endpoint_app(
    registry: CollectorRegistry, sources: Sequence[ScrapeSource], checks: Mapping[str, Check]
) -> Starlette:
    refresher = Refresher(registry, sources)

    async def metrics(request: Request) -> Response:
        await refresher.refresh()
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), headers={"Content-Type": content_type})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        body, status = await readiness(checks)
        return JSONResponse(body, status_code=status)

    return Starlette(
        routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)]
    )


@contextlib.asynccontextmanager
async def serve_endpoint(
    settings: Settings,
    registry: CollectorRegistry,
    *,
    sources: Sequence[ScrapeSource] = (),
    checks: Mapping[str, Check],
) -> AsyncIterator[int | None]:
    """Serve while the block runs; yields the port (None: not configured)."""
    if settings.metrics_port is None:
        yield None
        return
    app = endpoint_app(registry, sources, checks)
    # Bound here rather than by uvicorn, so that the port is known (and
    # logged) before the first request can arrive.
    sock = socket.create_server((settings.http_host, settings.metrics_port))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_config=None, timeout_graceful_shutdown=1
    )
    server = QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    log.info("metrics endpoint listening", host=settings.http_host, port=port)
    try:
        yield port
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=5)
        except TimeoutError:
            task.cancel()
        finally:
            sock.close()
