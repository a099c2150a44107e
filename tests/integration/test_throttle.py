"""Rate limits on the public endpoints, the tracking-number lockout and the
staff sign-in lockout, through the real gateway app on a real PostgreSQL.

The suite runs with limits off (tests/conftest.py); each test here swaps in a
throttle with small limits of its own.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.domain_kit import CALENDAR, NOW, OPERATOR
from tests.helpers import eventually
from tests.web_kit import PASSWORD, add_user, hidden, sign_in
from tousu.services.gateway.app import create_app
from tousu.services.gateway.main import server_config
from tousu.services.gateway.problems import PROBLEM_JSON
from tousu.services.gateway.throttle import Throttle
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events.types import Channel
from tousu.shared.intake.identifiers import hash_access_code, new_access_code, new_tracking_no
from tousu.shared.keys import access_code_key
from tousu.shared.settings import RateSection, Settings
from tousu.shared.store.postgres import PostgresEventStore

EN = {"Accept-Language": "en"}
Client = Callable[[str], httpx.AsyncClient]  # an HTTP client from a given IP


class Clock:
    """The failure windows' clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def small_limits(clock: Clock) -> Throttle:
    return Throttle(
        RateSection(
            limits=True,
            lookup="4/minute",
            lookup_failures="3/15 minutes",
            login_failures="3/15 minutes",
        ),
        clock,
    )


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    app.state.throttle = small_limits(clock)
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
    for made in clients:
        await made.aclose()


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


async def test_a_tracking_number_locks_for_the_client_that_missed(
    app: FastAPI, from_ip: Client, clock: Clock
) -> None:
    # Room for more requests per address than the misses that lock one.
    app.state.throttle = Throttle(
        RateSection(limits=True, lookup="20/minute", lookup_failures="3/15 minutes"), clock
    )
    number = "TS2603-0042-00"
    guesser = from_ip("198.51.100.1")
    for i in range(3):
        guess = await guesser.get(
            f"/api/v1/public/complaints/{number}", params={"code": f"GUESS{i}"}
        )
        assert guess.status_code == 404, guess.text
    body = assert_429(
        await guesser.get(f"/api/v1/public/complaints/{number}", params={"code": "X"}),
        "lookup_locked",
    )
    assert "受理编号" in str(body["detail"])
    # The same number typed differently is the same number.
    lower = await guesser.get(f"/api/v1/public/complaints/{number.lower()}", params={"code": "X"})
    assert_429(lower, "lookup_locked")
    # The web lookup form is locked too, with the message on the form.
    form = await guesser.get("/track")
    page = await guesser.post(
        "/track",
        data={"csrf_token": hidden(form.text, "csrf_token"), "tracking_no": number, "code": "X"},
    )
    assert page.status_code == 429 and "查询失败次数过多" in page.text
    assert "retry-after" in page.headers
    other = await guesser.get("/api/v1/public/complaints/TS2603-0043-00", params={"code": "X"})
    assert other.status_code == 404
    # Anyone else may still try this number: the owner is not locked out.
    owner = from_ip("198.51.100.99")
    assert (await owner.get(f"/api/v1/public/complaints/{number}?code=X")).status_code == 404


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
    app.state.throttle = Throttle(RateSection(limits=False, lookup="1/minute"))
    client = from_ip("203.0.113.50")
    for _ in range(8):
        response = await client.get("/api/v1/public/complaints/TS2603-0042-00?code=x")
        assert response.status_code == 404


def test_a_malformed_limit_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError):
        RateSection(lookup="ten a minute")


@dataclass(frozen=True)
class Filed:
    tracking_no: str
    code: str


@pytest.fixture
async def filed(store: PostgresEventStore, settings: Settings) -> Filed:
    """A complaint whose owner holds the right code."""
    executor = CommandExecutor(store, lambda: DecisionContext(calendar=CALENDAR, now=NOW))
    cid, tracking_no, code = uuid.uuid4(), new_tracking_no(NOW), new_access_code()
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=NOW,
            channel=Channel.PHONE,
            tracking_no=tracking_no,
            access_code_hash=hash_access_code(code, access_code_key(settings)),
            complainant={"name": "王五", "phone": "13700000000"},
            subject="工地夜间施工噪音",
            description="夜间施工，影响休息",
        ),
    )
    await store.pool.execute(
        "INSERT INTO tracking_numbers (tracking_no, complaint_id) VALUES ($1, $2)",
        tracking_no,
        cid,
    )
    return Filed(tracking_no, code)


async def test_the_owner_gets_in_within_a_minute_after_50_wrong_codes_from_50_addresses(
    from_ip: Client, filed: Filed, clock: Clock
) -> None:
    url = f"/api/v1/public/complaints/{filed.tracking_no}"
    # All at once: each is counted before its code is checked, so ten get an
    # answer and the number is slowed down for everyone after them.
    answers = await asyncio.gather(
        *(from_ip(f"198.51.100.{i}").get(url, params={"code": f"WRONG{i:03d}"}) for i in range(50))
    )
    assert Counter(a.status_code for a in answers) == {404: 10, 429: 40}
    owner = from_ip("192.0.2.200")
    slowed = assert_429(await owner.get(url, params={"code": filed.code}), "lookup_locked")
    assert int(str(slowed["retry_after"])) <= 60
    clock.advance(60)
    seen = await owner.get(url, params={"code": filed.code})
    assert seen.status_code == 200, seen.text
    assert seen.json()["tracking_no"] == filed.tracking_no
    # An address that kept guessing stays locked out of this number (15 minutes),
    # and the owner's success did not forgive it.
    guesser = from_ip("203.0.113.66")
    for i in range(3):
        assert (await guesser.get(url, params={"code": f"AGAIN{i}"})).status_code == 404
    clock.advance(60)
    assert_429(await guesser.get(url, params={"code": filed.code}), "lookup_locked")
    assert (await owner.get(url, params={"code": filed.code})).status_code == 200


async def test_a_forged_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    from_ip: Client,
) -> None:
    client = from_ip("203.0.113.9")
    for n in range(4):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        response = await client.get(
            f"/api/v1/public/complaints/TS2603-000{n}-00?code=x", headers=forged
        )
        assert response.status_code == 404
    forged = {"X-Forwarded-For": "198.51.100.77"}
    assert_429(
        await client.get("/api/v1/public/complaints/TS2603-0009-00?code=x", headers=forged),
        "too_many_requests",
    )


async def test_a_trusted_proxy_names_the_client(settings: Settings, clock: Clock) -> None:
    proxied = settings.model_copy(update={"trusted_proxies": ["10.0.0.0/24"]})
    app = create_app(proxied)
    app.state.throttle = small_limits(clock)
    async with app.router.lifespan_context(app):
        proxy = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.0.0.3", 40000)),
            base_url="http://gw.test",
        )
        direct = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.10", 40000)),
            base_url="http://gw.test",
        )
        async with proxy, direct:
            numbers = iter(range(100))

            def url() -> str:
                # A new number each time: the per-number slowdown is not what counts here.
                return f"/api/v1/public/complaints/TS2603-{next(numbers):04d}-00?code=x"

            # Six clients behind the proxy: each its own count, none limited.
            for n in range(6):
                seen = {"X-Forwarded-For": f"198.51.100.{n}"}
                assert (await proxy.get(url(), headers=seen)).status_code == 404
            # A client behind it that prepends a forged address is still itself
            # (the right-most address the trusted proxy did not add).
            for n in range(4):
                chain = {"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.50"}
                assert (await proxy.get(url(), headers=chain)).status_code == 404
            chain = {"X-Forwarded-For": "192.0.2.99, 198.51.100.50"}
            assert_429(await proxy.get(url(), headers=chain), "too_many_requests")
            # Not a proxy: its header is ignored.
            for n in range(4):
                forged = {"X-Forwarded-For": f"198.51.100.{100 + n}"}
                assert (await direct.get(url(), headers=forged)).status_code == 404
            assert_429(
                await direct.get(url(), headers={"X-Forwarded-For": "1.2.3.4"}), "too_many_requests"
            )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_the_served_gateway_ignores_x_forwarded_for_from_localhost(
    settings: Settings, clock: Clock
) -> None:
    # uvicorn, as `tousu service gateway` runs it, trusted the header from
    # 127.0.0.1 by default: any local process (or a proxy passing the header
    # on) picked the address that the limits counted.
    port = free_port()
    config = server_config(settings.model_copy(update={"http_port": port}))
    config.log_level = "warning"
    server = uvicorn.Server(config)
    assert isinstance(config.app, FastAPI)
    config.app.state.throttle = small_limits(clock)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), "the gateway to listen")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(4):
                forged = {"X-Forwarded-For": f"198.51.100.{n}"}
                url = f"/api/v1/public/complaints/TS2603-000{n}-00?code=x"
                assert (await client.get(url, headers=forged)).status_code == 404
            forged = {"X-Forwarded-For": "198.51.100.200"}
            url = "/api/v1/public/complaints/TS2603-0009-00?code=x"
            assert_429(await client.get(url, headers=forged), "too_many_requests")
    finally:
        server.should_exit = True
        await task


async def test_sign_in_failures_lock_the_guesser_not_the_colleague(
    from_ip: Client, pool: asyncpg.Pool, clock: Clock
) -> None:
    await add_user(pool, "sun.yu", "operator")

    async def login(client: httpx.AsyncClient, password: str) -> httpx.Response:
        return await client.post(
            "/api/v1/auth/token", json={"username": "sun.yu", "password": password}
        )

    guesser = from_ip("203.0.113.30")
    for _ in range(3):
        assert (await login(guesser, "wrong")).status_code == 401
    assert_429(await login(guesser, PASSWORD), "login_locked")
    owner = from_ip("192.0.2.30")
    assert (await login(owner, PASSWORD)).status_code == 200
    # Guesses spread over many addresses slow the username down, for a minute
    # at most: ten a minute, the guesser's three and seven of these twelve
    # (sent at once: each counts before its password is checked).
    answers = await asyncio.gather(*(login(from_ip(f"198.51.100.{i}"), "wrong") for i in range(12)))
    assert Counter(a.status_code for a in answers) == {401: 7, 429: 5}
    slowed = assert_429(await login(owner, PASSWORD), "login_locked")
    assert int(str(slowed["retry_after"])) <= 60
    clock.advance(60)
    assert (await login(owner, PASSWORD)).status_code == 200
    assert_429(await login(guesser, PASSWORD), "login_locked")


def test_a_shared_slowdown_may_not_outlast_a_minute() -> None:
    with pytest.raises(ValueError, match="at most 60 seconds"):
        RateSection(lookup_failures_number="10/15 minutes")
    with pytest.raises(ValueError, match="at most 60 seconds"):
        RateSection(login_failures_user="5/hour")
