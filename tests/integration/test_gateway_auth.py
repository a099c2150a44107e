"""Staff accounts, sign-in, bearer tokens and roles: the `tousu users` command line,
the repository and the gateway's auth routes, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
import httpx
import pytest
from fastapi import Depends, FastAPI

from tests.helpers import tousu
from tests.web_kit import PASSWORD, add_user
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import Principal, StaffRole, can_see_case
from tousu.services.gateway.auth import passwords as passwords_module
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.dependencies import CurrentUser, require_roles
from tousu.services.gateway.problems import PROBLEM_JSON, NotFound, Text
from tousu.shared.events import Actor
from tousu.shared.settings import Settings

EN = {"Accept-Language": "en"}


def with_test_routes(app: FastAPI) -> FastAPI:
    """Routes as the complaint routes will write them."""

    @app.get("/test/supervision")
    async def supervision_only(
        principal: Annotated[Principal, Depends(require_roles("supervisor", "admin"))],
    ) -> dict[str, str]:
        return {"hello": principal.username}

    @app.get("/test/cases/{department}")
    async def a_case(department: str, principal: CurrentUser) -> dict[str, str]:
        if not can_see_case(principal, department):
            raise NotFound(Text("投诉不存在", "No such complaint"))
        return {"department": department}

    return app


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = with_test_routes(create_app(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            yield c


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, object] = response.json()
    return body


# -- the command line ---------------------------------------------------------


async def test_cli_adds_lists_issues_revokes_and_disables(
    child_env: dict[str, str], pool: asyncpg.Pool
) -> None:
    code, out, err = await tousu(
        child_env,
        *("users", "add", "Li.Wei", "--role", "handler", "--department", "water"),
        *("--name", "李伟", "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    assert "added li.wei (handler in water)" in out

    refused = [  # (arguments of `users add`, password, what the error says)
        ("li.wei --role supervisor", PASSWORD, "exists already"),
        ("x --role janitor", PASSWORD, "unknown role 'janitor'"),
        ("x --role handler", PASSWORD, "needs a department"),
        ("x --role handler --department nosuchdept", PASSWORD, "unknown department 'nosuchdept'"),
        ("x --role operator -d water", PASSWORD, "has no department"),
        ("x --role operator", "short\n", "at least 8 characters"),
    ]
    results = await asyncio.gather(
        *(
            tousu(child_env, "users", "add", *args.split(), "--password-stdin", stdin=password)
            for args, password, _ in refused
        )
    )
    for (code, _, err), (args, _, message) in zip(results, refused, strict=True):
        assert code != 0, args
        assert message in err, (args, err)
    assert [u.username for u in await repo.list_users(pool)] == ["li.wei"]

    code, out, err = await tousu(child_env, "users", "token", "li.wei", "--days", "7")
    assert code == 0, err
    token = out.strip()
    assert len(out.splitlines()) == 1 and len(token) >= 43  # the token alone on stdout
    principal = await repo.principal_for_token(pool, token)
    assert principal is not None
    assert (principal.username, principal.role, principal.department) == (
        "li.wei",
        "handler",
        "water",
    )
    [info] = await repo.list_tokens(pool, principal.user_id)
    assert info.id == principal.token_id and info.name == "cli"
    assert timedelta(days=7) - (info.expires_at - info.created_at) < timedelta(seconds=5)
    stored = await pool.fetchval("SELECT token_hash FROM api_tokens WHERE id = $1", info.id)
    assert token.encode() not in stored and len(stored) == 32  # only the SHA-256 is kept

    code, out, err = await tousu(child_env, "users", "list", "--json")
    assert code == 0, err
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["username"] == "li.wei" and listed["display_name"] == "李伟"
    assert (listed["role"], listed["department"], listed["active"]) == ("handler", "water", True)
    assert listed["active_tokens"] == 1
    code, out, _ = await tousu(child_env, "users", "list")
    assert code == 0 and "li.wei" in out and "承办人" in out
    code, out, _ = await tousu(child_env, "users", "tokens", "li.wei")
    assert code == 0 and str(info.id) in out and token not in out

    code, out, err = await tousu(child_env, "users", "revoke", str(info.id))
    assert code == 0, err
    assert "revoked" in out
    assert await repo.principal_for_token(pool, token) is None
    code, out, _ = await tousu(child_env, "users", "revoke", str(info.id))
    assert code == 0 and "already revoked" in out
    code, _, err = await tousu(child_env, "users", "revoke", "7b0a1c1e-0000-4000-8000-000000000000")
    assert code == 1 and "no token" in err

    code, out, _ = await tousu(child_env, "users", "token", "li.wei", "--name", "mobile")
    second = out.strip()
    assert await repo.principal_for_token(pool, second) is not None
    code, out, err = await tousu(child_env, "users", "disable", "li.wei")
    assert code == 0, err
    assert "1 token(s) revoked" in out
    assert await repo.principal_for_token(pool, second) is None
    user = await repo.get_user(pool, "li.wei")
    assert user is not None and not user.active
    code, _, err = await tousu(child_env, "users", "token", "li.wei")
    assert code == 1 and "disabled" in err
    code, _, err = await tousu(child_env, "users", "disable", "nobody")
    assert code == 1 and "no user 'nobody'" in err


async def test_the_database_refuses_inconsistent_users(pool: asyncpg.Pool) -> None:
    """The table's own checks, for writers that bypass the repository."""
    insert = (
        "INSERT INTO users (username, display_name, role, department, password_hash) "
        "VALUES ($1, 'x', $2, $3, 'h')"
    )
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(insert, "a", "handler", None)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(insert, "b", "supervisor", "water")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(insert, "c", "wizard", None)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(insert, "Upper", "admin", None)


# -- signing in ---------------------------------------------------------------


async def test_login_me_and_logout(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    user = await add_user(pool, "zhang", "dept_head", "transport")
    response = await client.post(
        "/api/v1/auth/token", json={"username": "Zhang", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - datetime.now(UTC) - timedelta(days=30)) < timedelta(minutes=1)
    me = {
        "id": str(user.id),
        "username": "zhang",
        "display_name": "Zhang",
        "role": "dept_head",
        "department": "transport",
    }
    assert body["user"] == me
    token = body["access_token"]

    response = await client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == me
    last_used = await pool.fetchval(
        "SELECT last_used_at FROM api_tokens WHERE user_id = $1", user.id
    )
    assert last_used is not None

    response = await client.post("/api/v1/auth/logout", headers=bearer(token))
    assert response.status_code == 204
    revoked = await pool.fetchval("SELECT revoked_at FROM api_tokens WHERE user_id = $1", user.id)
    assert revoked is not None
    body = assert_unauthorized(await client.get("/api/v1/me", headers=bearer(token)))
    assert body["code"] == "invalid_token"


async def test_wrong_password_unknown_user_and_disabled_user_get_the_same_401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_user(pool, "wang", "operator")
    await add_user(pool, "gone", "operator")
    await repo.disable_user(pool, "gone")
    burned: list[str] = []
    real_burn = passwords_module.burn_verification

    def burn(password: str) -> None:
        burned.append(password)
        real_burn(password)

    monkeypatch.setattr(passwords_module, "burn_verification", burn)

    async def attempt(username: str, password: str) -> httpx.Response:
        return await client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )

    wrong = await attempt("wang", "not the password")
    unknown = await attempt("nobody", "not the password")
    disabled = await attempt("gone", PASSWORD)
    bodies = [assert_unauthorized(r) for r in (wrong, unknown, disabled)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["detail"] == "用户名或密码错误"
    assert bodies[0]["code"] == "invalid_credentials"
    # The unknown user cost a password verification too (timing tells nothing).
    assert burned == ["not the password"]
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 0

    english = assert_unauthorized(
        await client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}, headers=EN)
    )
    assert english["detail"] == "Incorrect username or password"


async def test_login_input_errors_are_422_naming_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", json={"username": ""})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {"body.username": "至少 1 个字符", "body.password": "必填"}
    response = await client.post("/api/v1/auth/token", json={"username": ""}, headers=EN)
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {
        "body.username": "String should have at least 1 character",
        "body.password": "Field required",
    }


async def test_missing_malformed_expired_revoked_and_disabled_tokens_are_401(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    user = await add_user(pool, "chen", "handler", "water")
    body = assert_unauthorized(await client.get("/api/v1/me"))
    assert body["code"] == "unauthorized"
    assert body["detail"] == "请先登录：缺少 Bearer 令牌"
    assert_unauthorized(await client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"}))
    assert_unauthorized(await client.get("/api/v1/me", headers=bearer("made-up")))

    expired = await repo.issue_token(pool, user.id, name="t", lifetime=timedelta(days=1))
    assert (await client.get("/api/v1/me", headers=bearer(expired.token))).status_code == 200
    await pool.execute(
        "UPDATE api_tokens SET created_at = now() - interval '2 days',"
        " expires_at = now() - interval '1 second' WHERE id = $1",
        expired.id,
    )
    response = await client.get("/api/v1/me", headers=bearer(expired.token))
    assert assert_unauthorized(response)["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    revoked = await repo.issue_token(pool, user.id, name="t", lifetime=timedelta(days=1))
    assert (await client.get("/api/v1/me", headers=bearer(revoked.token))).status_code == 200
    assert await repo.revoke_token(pool, revoked.id) is not None
    assert_unauthorized(await client.get("/api/v1/me", headers=bearer(revoked.token)))

    live = await login(client, "chen")
    assert (await client.get("/api/v1/me", headers=bearer(live))).status_code == 200
    # Even with its token left unrevoked, an inactive account is refused.
    await pool.execute("UPDATE users SET active = false WHERE id = $1", user.id)
    assert_unauthorized(await client.get("/api/v1/me", headers=bearer(live)))


async def test_token_lifetime_comes_from_tousu_token_days(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_user(pool, "zhou", "admin")
    monkeypatch.setenv("TOUSU_TOKEN_DAYS", "3")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            response = await c.post(
                "/api/v1/auth/token", json={"username": "zhou", "password": PASSWORD}
            )
            assert (await c.get("/healthz")).json() == {"status": "ok"}
            assert (await c.get("/readyz")).json()["ready"] is True
    expires_at = datetime.fromisoformat(response.json()["expires_at"])
    assert abs(expires_at - datetime.now(UTC) - timedelta(days=3)) < timedelta(minutes=1)


# -- roles and departments ----------------------------------------------------


async def test_a_role_without_the_right_gets_403(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "handler1", "handler", "water")
    await add_user(pool, "super1", "supervisor")
    handler = await login(client, "handler1")
    response = await client.get("/test/supervision", headers=bearer(handler))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == "role_forbidden"
    assert body["required_roles"] == ["admin", "supervisor"]
    assert body["detail"] == "此操作仅限督办、管理员，当前角色为承办人"
    response = await client.get("/test/supervision", headers=bearer(handler) | EN)
    assert response.json()["detail"] == "Only supervisor, admin may do this; you are handler"
    supervisor = await login(client, "super1")
    response = await client.get("/test/supervision", headers=bearer(supervisor))
    assert response.json() == {"hello": "super1"}
    assert_unauthorized(await client.get("/test/supervision"))


async def test_department_roles_see_only_their_departments_cases(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "handler1", "handler", "water")
    await add_user(pool, "op1", "operator")
    handler = await login(client, "handler1")
    assert (await client.get("/test/cases/water", headers=bearer(handler))).status_code == 200
    response = await client.get("/test/cases/transport", headers=bearer(handler))
    assert response.status_code == 404  # not 403: the case's existence is not revealed
    assert response.json()["detail"] == "投诉不存在"
    operator = await login(client, "op1")
    assert (await client.get("/test/cases/transport", headers=bearer(operator))).status_code == 200


def test_can_see_case_and_actor() -> None:
    def principal(role: StaffRole, department: str | None = None) -> Principal:
        return Principal(uuid.uuid4(), f"u-{role}", role, department)

    department_roles: tuple[StaffRole, ...] = ("handler", "dept_head")
    for role in department_roles:
        own = principal(role, "water")
        assert can_see_case(own, "water")
        assert not can_see_case(own, "transport")
        assert not can_see_case(own, None)  # not routed yet: nobody's department
    other_roles: tuple[StaffRole, ...] = ("operator", "supervisor", "admin")
    for role in other_roles:
        assert can_see_case(principal(role), "transport")
        assert can_see_case(principal(role), None)
    assert principal("dept_head", "D07").actor() == Actor(
        id="u-dept_head", role="dept_head", department="D07"
    )
