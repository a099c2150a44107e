"""The FastAPI application. Routes of docs/design.md, "HTTP" are added here as they are built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NatsClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tousu.services.gateway.asyncapi import asyncapi_router
from tousu.services.gateway.auth.routes import auth_router
from tousu.services.gateway.body_limit import BodyLimitMiddleware, upload_bytes
from tousu.services.gateway.clean_query import CleanQueryMiddleware
from tousu.services.gateway.complaints.registration import registration_router
from tousu.services.gateway.complaints.request_id import RequestIdMiddleware
from tousu.services.gateway.complaints.routes import complaints_router
from tousu.services.gateway.complaints.uploads import uploads_router
from tousu.services.gateway.instrumentation import instrument
from tousu.services.gateway.metrics.routes import metrics_router
from tousu.services.gateway.notices.routes import notices_router
from tousu.services.gateway.open311.routes import open311_router
from tousu.services.gateway.openapi_problems import document_problems
from tousu.services.gateway.problems import install_problem_handlers
from tousu.services.gateway.public.routes import public_router
from tousu.services.gateway.quality import quality_router
from tousu.services.gateway.schemas import schemas_router
from tousu.services.gateway.throttle import RateLimitMiddleware, Throttle
from tousu.services.gateway.web.public import static_files, web_public_router
from tousu.services.gateway.web.staff import staff_router
from tousu.services.relay.views import quarantine_readiness
from tousu.shared.application.credentials import signed_connect
from tousu.shared.attachments.files import Attachments
from tousu.shared.keys import access_code_key
from tousu.shared.observability import database_check, nats_check, process_registry, readiness
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@dataclass
class Connections:
    pool: asyncpg.Pool
    nats: NatsClient
    # The event store, for the case reads until the metrics projections serve them.
    store: PostgresEventStore
    # Where uploads are checked and kept before a command names them.
    attachments: Attachments


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=5)
        # Every command and submission the gateway sends carries its trusted
        # credential: it has authenticated the staff member or public it names.
        nats = await signed_connect(
            settings,
            str(settings.nats_url),
            "tousu-gateway",
            sender="gateway",
            max_reconnect_attempts=-1,
        )
        store = await PostgresEventStore.connect(str(settings.database_url), min_size=1, max_size=5)
        attachments = Attachments.for_settings(settings, pool)
        app.state.connections = Connections(pool, nats, store, attachments)
        try:
            yield
        finally:
            await store.close()
            await nats.close()
            await pool.close()

    app = FastAPI(title="tousu", version="0.1.0", lifespan=lifespan)
    install_problem_handlers(app)
    document_problems(app)
    files = settings.attachments
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        # Routes that take files read the files too (body_limit.UPLOADS).
        upload_bytes=upload_bytes(settings.max_request_bytes, files.max_files, files.max_bytes),
    )
    # A control character in a query parameter or path: 422 naming it.
    app.add_middleware(CleanQueryMiddleware)
    # Per-IP limits on the public endpoints; inside the request id, so that a
    # 429 carries one too.
    app.add_middleware(RateLimitMiddleware)
    app.state.throttle = Throttle()
    # Read once: every public look-up checks an access code with it.
    app.state.access_code_key = access_code_key(settings)
    # The subjects of the requests the quality routers send (they are built
    # without the settings).
    app.state.naming = settings.naming
    # Their settings (the appraisal scheme file, say), for the same reason.
    app.state.quality = settings.quality
    # Outside the problem handlers, so that errors carry the request id too.
    app.add_middleware(RequestIdMiddleware)
    # Outermost: the client address every limit and lockout counts by is the
    # connection's, or the one a configured proxy (TOUSU_TRUSTED_PROXIES) saw;
    # an X-Forwarded-For from anyone else is ignored. uvicorn's own handling
    # is off (main.py): it would trust 127.0.0.1 by default.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.include_router(auth_router())
    app.include_router(registration_router(settings))
    app.include_router(uploads_router())
    app.include_router(complaints_router(settings))
    app.include_router(public_router(settings))
    app.include_router(notices_router(settings))
    app.include_router(open311_router(settings))
    app.include_router(metrics_router())
    app.include_router(quality_router())
    app.include_router(asyncapi_router(settings))
    app.include_router(schemas_router())
    app.include_router(web_public_router(settings))
    app.include_router(staff_router(settings))
    app.mount("/static", static_files(), name="static")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Readiness: PostgreSQL and NATS both answer; degraded while the
        relay's quarantine holds events."""
        connections: Connections = app.state.connections
        body, status = await readiness(
            {
                "database": database_check(connections.pool),
                "nats": nats_check(lambda: connections.nats.is_connected),
                "quarantine": partial(quarantine_readiness, connections.pool),
            }
        )
        return JSONResponse(body, status_code=status)

    instrument(app, process_registry())
    return app
