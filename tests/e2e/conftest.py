"""The services as separate processes, on this test's database and subject root."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from services import SERVICES
from services.gateway.app import create_app
from services.gateway.auth import StaffRole
from shared.settings import Settings
from tests.e2e.kit import Headers
from tests.lifecycle import staff_tokens
from tests.processes import spawn, stop, wait_until_answering

NATS_SERVICES = tuple(name for name in SERVICES if name != "gateway")


@pytest.fixture
async def running_services(
    settings: Settings, child_env: dict[str, str], nats_client: NatsClient, tmp_path: Path
) -> AsyncIterator[Path]:
    """relay + every NATS service; yields the folder with their logs."""
    procs = [spawn(name, child_env, tmp_path) for name in ("relay", *NATS_SERVICES)]
    try:
        deadline = time.monotonic() + 60
        for name in NATS_SERVICES:
            await wait_until_answering(nats_client, settings.naming, name, deadline)
        yield tmp_path
    finally:
        for proc in procs:
            stop(proc)


@pytest.fixture
async def staff(database_url: str) -> dict[str, Headers]:
    """Bearer headers of an operator, handlers of water and of transport, a supervisor."""
    people: list[tuple[str, StaffRole, str | None]] = [
        ("op-li", "operator", None),
        ("h-zhao", "handler", "water"),
        ("h-qian", "handler", "transport"),
        ("sup-wang", "supervisor", None),
    ]
    return await staff_tokens(database_url, people)


@pytest.fixture
async def gateway(running_services: Path, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield client
