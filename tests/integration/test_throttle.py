"""Rate limits on the public endpoints, the tracking-number lockout and the
staff sign-in lockout, through the real gateway app on a real PostgreSQL.

The suite runs with limits off (tests/conftest.py); each test here swaps in a
throttle with small limits of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.gateway.app import create_app
from services.gateway.problems import PROBLEM_JSON
from services.gateway.throttle import Throttle, ThrottleSettings
from shared.settings import Settings
from tests.web_kit import PASSWORD, add_user, hidden, sign_in

EN = {"Accept-Language": "en"}
Client = Callable[[str], httpx.AsyncClient]  # an HTTP client from a given IP


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    app.state.throttle = Throttle(
        ThrottleSettings(limits=True, lookup="4/minute", login_failures="3/15 minutes")
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def from_ip(app: FastAPI) -> AsyncIterator[Client]:
    clients: list[httpx.AsyncClient] = []

    def make(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://gw.test"))
        return clients[-1]

    yield make
    for c in clients:
        await c.aclose()


def assert_429(response: httpx.Response, code: str) -> dict[str, object]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
    body: dict[str, object] = response.json()
    assert body["code"] == code
    assert body["retry_after"] == int(response.headers["retry-after"])
    return body


async def test_lookups_are_limited_per_client_ip(from_ip: Client) -> None:
    a, b = from_ip("203.0.113.1"), from_ip("203.0.113.2")
    # Four different numbers: the per-number lockout is not what stops this.
    for n in range(4):
        response = await a.get(f"/api/v1/public/complaints/TS2603-000{n}-00?code=x")
        assert response.status_code == 404
    body = assert_429(
        await a.get("/api/v1/public/complaints/TS2603-0009-00?code=x"), "too_many_requests"
    )
    assert "请求过于频繁" in str(body["detail"])
    english = await a.get("/api/v1/public/complaints/TS2603-0009-00?code=x", headers=EN)
    assert "Too many requests" in assert_429(english, "too_many_requests")["detail"]  # type: ignore[operator]
    # The web form shares the limit and says so on a page, not in JSON.
    page = await a.post("/track", data={"tracking_no": "TS2603-0001-00", "code": "x"})
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert "请求过于频繁" in page.text and "retry-after" in page.headers
    # Another client is not held up, and other endpoints are not limited.
    assert (await b.get("/api/v1/public/complaints/TS2603-0001-00?code=x")).status_code == 404
    assert (await a.get("/api/v1/public/commitments")).status_code == 200


async def test_a_tracking_number_locks_after_five_misses_from_any_ip(from_ip: Client) -> None:
    number = "TS2603-0042-00"
    # Five guesses spread over five addresses (each far under its own limit).
    for i in range(5):
        guess = await from_ip(f"198.51.100.{i}").get(
            f"/api/v1/public/complaints/{number}", params={"code": f"GUESS{i}"}
        )
        assert guess.status_code == 404, guess.text
    fresh = from_ip("198.51.100.99")
    body = assert_429(
        await fresh.get(f"/api/v1/public/complaints/{number}", params={"code": "X"}),
        "lookup_locked",
    )
    assert "受理编号" in str(body["detail"])
    # The same number typed differently is the same number.
    lower = await fresh.get(f"/api/v1/public/complaints/{number.lower()}", params={"code": "X"})
    assert_429(lower, "lookup_locked")
    # The web lookup form is locked too, with the message on the form.
    form = await fresh.get("/track")
    page = await fresh.post(
        "/track",
        data={"csrf_token": hidden(form.text, "csrf_token"), "tracking_no": number, "code": "X"},
    )
    assert page.status_code == 429 and "查询失败次数过多" in page.text
    assert "retry-after" in page.headers
    other = await fresh.get("/api/v1/public/complaints/TS2603-0043-00", params={"code": "X"})
    assert other.status_code == 404


async def test_sign_in_locks_after_failures_and_a_success_resets(
    from_ip: Client, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "li.wei", "operator")
    await add_user(pool, "zhao.min", "operator")
    client = from_ip("192.0.2.7")

    async def login(username: str, password: str) -> httpx.Response:
        return await client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}, headers=EN
        )

    # Two failures, then the right password: allowed, and the count starts again.
    for _ in range(2):
        assert (await login("li.wei", "wrong")).status_code == 401
    assert (await login("li.wei", PASSWORD)).status_code == 200
    for _ in range(3):
        assert (await login("li.wei", "wrong")).status_code == 401
    # Locked now: even the right password is refused, with when to come back.
    locked = assert_429(await login("li.wei", PASSWORD), "login_locked")
    assert "locked" in str(locked["detail"])
    assert_429(await login("LI.WEI", PASSWORD), "login_locked")
    # Another account from the same address is not locked.
    assert (await login("zhao.min", PASSWORD)).status_code == 200
    # The web sign-in honours the same lockout, on the form.
    page = await sign_in(client, "li.wei")
    assert page.status_code == 429 and "登录失败次数过多" in page.text
    assert "retry-after" in page.headers


async def test_web_sign_in_failures_count_too(from_ip: Client, pool: asyncpg.Pool) -> None:
    await add_user(pool, "qian.li", "handler", "water")
    client = from_ip("192.0.2.8")
    for _ in range(3):
        assert (await sign_in(client, "qian.li", "wrong")).status_code == 422
    assert (await sign_in(client, "qian.li")).status_code == 429
    api = await client.post(
        "/api/v1/auth/token", json={"username": "qian.li", "password": PASSWORD}
    )
    assert_429(api, "login_locked")


async def test_limits_off_let_everything_through(app: FastAPI, from_ip: Client) -> None:
    app.state.throttle = Throttle(ThrottleSettings(limits=False, lookup="1/minute"))
    client = from_ip("203.0.113.50")
    for _ in range(8):
        response = await client.get("/api/v1/public/complaints/TS2603-0042-00?code=x")
        assert response.status_code == 404


def test_a_malformed_limit_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError):
        ThrottleSettings(lookup="ten a minute")
