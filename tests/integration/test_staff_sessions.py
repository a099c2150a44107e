"""Web sign-ins end: at their lifetime (TOUSU_SESSION_HOURS), when their token
is revoked (`tousu users revoke`), and when the user is disabled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.web_kit import add_user, gateway_client, sign_in
from tousu.services.gateway.auth import repository as repo
from tousu.shared.settings import Settings


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


async def signed_in(client: httpx.AsyncClient, pool: asyncpg.Pool, name: str) -> repo.TokenInfo:
    user = await add_user(pool, name, "handler", "water")
    response = await sign_in(client, name)
    assert response.status_code == 303, response.text
    assert (await client.get("/staff/queue")).status_code == 200
    (session,) = await repo.list_tokens(pool, user.id)
    assert session.name == "web session"
    return session


async def assert_signed_out(client: httpx.AsyncClient) -> None:
    response = await client.get("/staff/queue")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


async def test_a_session_lasts_session_hours_then_ends(
    client: httpx.AsyncClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOUSU_SESSION_HOURS", "0.5")
    session = await signed_in(client, pool, "li.wei")
    lifetime = session.expires_at - session.created_at
    assert abs(lifetime - timedelta(minutes=30)) < timedelta(seconds=5)
    assert session.expires_at > datetime.now(UTC)
    # 31 minutes on (the token's times moved back rather than the clock forward).
    await pool.execute(
        "UPDATE api_tokens SET created_at = created_at - interval '31 minutes',"
        " expires_at = expires_at - interval '31 minutes' WHERE id = $1",
        session.id,
    )
    await assert_signed_out(client)


async def test_revoking_the_session_token_signs_out_at_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    session = await signed_in(client, pool, "zhao.min")
    assert await repo.revoke_token(pool, session.id) is not None
    await assert_signed_out(client)


async def test_disabling_the_user_ends_their_sessions(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await signed_in(client, pool, "qian.li")
    assert await repo.disable_user(pool, "qian.li") == 1
    await assert_signed_out(client)
    assert (await sign_in(client, "qian.li")).status_code == 422
