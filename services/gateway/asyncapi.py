"""``/asyncapi``: the AsyncAPI documents FastStream generates for the NATS services.

Each service is read from the catalogue (``tousu.shared.application.catalogue``,
which its own ``ServiceSpec`` is built from) and its broker assembled by
``tousu.shared.service.assemble``, as the service itself does (the ping, the
commands, its requests and inputs, the consumers), with handlers that are
never called, and never connected: only its subscribers' subjects and message
schemas are read. The gateway's own store stands in for the service's, and
nothing calls it. Their payloads, replies and the events the relay publishes
come from the published message schemas (``asyncapi_payloads``).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI, get_asyncapi_html

from tousu.services.gateway.asyncapi_payloads import Document, with_contracts
from tousu.services.gateway.problems import NotFound, Text
from tousu.shared.application.catalogue import CATALOGUE
from tousu.shared.application.context_source import ContextSource
from tousu.shared.service import ServiceSpec, assemble, described
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

TITLE = "tousu"
VERSION = "0.1.0"
NO_SUCH_SERVICE = Text("没有这个服务", "No such service")


@cache
def service_specs() -> dict[str, ServiceSpec]:
    """Every service as the catalogue describes it: no service's code is imported."""
    return {name: described(entry) for name, entry in CATALOGUE.items()}


def public_url(url: str) -> str:
    """``url`` without credentials: the document is served to anyone."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def described_broker(
    settings: Settings, spec: ServiceSpec, store: PostgresEventStore
) -> NatsBroker:
    """``spec``'s broker with all its subscribers registered, not connected."""
    runtime, _ = assemble(settings, spec, store, ContextSource.for_settings(settings))
    return runtime.broker


class Documents:
    """Built once, on first request (assembling five brokers takes a moment)."""

    def __init__(self, settings: Settings) -> None:
        url = public_url(settings.nats_url or "nats://localhost:4222")
        self._settings = settings.model_copy(update={"nats_url": url})
        self._specs: dict[str, Document] | None = None
        self._lock = asyncio.Lock()

    async def get(self, store: PostgresEventStore) -> dict[str, Document]:
        async with self._lock:
            if self._specs is None:
                self._specs = await asyncio.to_thread(self._build, store)
            return self._specs

    def _build(self, store: PostgresEventStore) -> dict[str, Document]:
        brokers = {
            name: described_broker(self._settings, spec, store)
            for name, spec in service_specs().items()
        }
        root = self._settings.naming.root
        out = {
            name: self._document(
                AsyncAPI(broker, title=f"{TITLE} {name}", version=VERSION), root, events=False
            )
            for name, broker in brokers.items()
        }
        whole = AsyncAPI(
            *brokers.values(),
            title=TITLE,
            version=VERSION,
            description="Every tousu service's NATS subjects: commands "
            "(`<root>.cmd.<service>.<command>`, request-reply, with their replies), "
            "channel submissions, the event consumers and the events the relay publishes "
            "(`<root>.events.<department>.<Type>`). Per service: `/asyncapi/{service}`. "
            "The same payload schemas, one file per message: `GET /schemas`.",
        )
        out[""] = self._document(whole, root, events=True)
        return out

    @staticmethod
    def _document(asyncapi: AsyncAPI, root: str, *, events: bool) -> Document:
        spec = asyncapi.to_specification()
        return Document(spec.title, with_contracts(spec.to_jsonable(), root, events=events))


def asyncapi_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["asyncapi"])
    documents = Documents(settings)

    async def specification(request: Request, service: str = "") -> Document:
        specs = await documents.get(request.app.state.connections.store)
        if service not in specs:
            raise NotFound(NO_SUCH_SERVICE, code="service_not_found")
        return specs[service]

    @router.get("/asyncapi", operation_id="asyncapi")
    async def asyncapi(request: Request) -> Any:
        """All services' AsyncAPI 3.0 document, as JSON."""
        return (await specification(request)).to_jsonable()

    @router.get("/asyncapi.html", response_class=HTMLResponse, operation_id="asyncapi_html")
    async def asyncapi_html(request: Request) -> HTMLResponse:
        """The same document, rendered by the AsyncAPI web component."""
        spec = await specification(request)
        return HTMLResponse(get_asyncapi_html(spec, try_it_out_path=None))

    @router.get("/asyncapi/{service}", operation_id="asyncapi_service")
    async def asyncapi_service(service: str, request: Request) -> Any:
        """One service's AsyncAPI document."""
        return (await specification(request, service)).to_jsonable()

    return router
