"""Staff and the gateway in-process, beside the services run as separate processes
(``running_services``, in tests/conftest.py); every message published during
a test is checked against the published schemas (``message_contracts``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.kit import HANDLER, Headers
from tests.e2e.message_contracts import (  # noqa: F401
    published_messages_follow_the_schemas,
    pytest_configure,
    pytest_terminal_summary,
)
from tests.lifecycle import staff_accounts, staff_tokens
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import StaffRole
from tousu.shared.settings import Settings


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
async def water_handler(database_url: str) -> dict[str, str]:
    """The account of kit.HANDLER, for tests that send commands straight over NATS."""
    await staff_accounts(database_url, [("h-zhao", "handler", "water")])
    return HANDLER


@pytest.fixture
async def gateway(running_services: Path, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield client
