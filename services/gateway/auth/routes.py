"""``/api/v1/auth/token``, ``/api/v1/auth/logout`` and ``/api/v1/me``."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from tousu.services.gateway.auth import passwords
from tousu.services.gateway.auth.dependencies import CurrentUser, get_pool
from tousu.services.gateway.auth.repository import (
    get_credentials,
    issue_token,
    revoke_token,
    set_password_hash,
)
from tousu.services.gateway.auth.roles import Principal, StaffRole
from tousu.services.gateway.problems import Text, Unauthorized
from tousu.services.gateway.throttle import check_login, client_ip, login_succeeded
from tousu.shared.settings import AuthSection, load_settings

BAD_CREDENTIALS = Text("用户名或密码错误", "Incorrect username or password")
LOGIN_TOKEN_NAME = "login"


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: StaffRole
    department: str | None

    @classmethod
    def of(cls, principal: Principal) -> UserOut:
        return cls(
            id=principal.user_id,
            username=principal.username,
            display_name=principal.display_name,
            role=principal.role,
            department=principal.department,
        )


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]


def auth_router(settings: AuthSection | None = None) -> APIRouter:
    lifetime = timedelta(days=(settings or load_settings().auth).token_days)
    router = APIRouter(prefix="/api/v1", tags=["auth"])

    @router.post("/auth/token", response_model=TokenOut)
    async def login(body: LoginRequest, pool: Pool, request: Request) -> TokenOut:
        """Sign in with username and password; the token goes in ``Authorization: Bearer``.

        After repeated failures from one client IP the username is locked for
        that IP (failures from many IPs slow it down for at most a minute; too
        many from one IP lock the IP): 429 with ``Retry-After``, even for the
        right password."""
        throttle, ip = request.app.state.throttle, client_ip(request.scope)
        # Counted as a failure until it succeeds.
        attempt = await check_login(throttle, body.username, ip)
        found = await get_credentials(pool, body.username)
        if found is None:
            # Verify against a dummy hash anyway: an unknown username must
            # take as long as a wrong password, or timing lists the usernames.
            await asyncio.to_thread(passwords.burn_verification, body.password)
            raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
        user, password_hash = found
        # Argon2 takes tens of milliseconds of CPU: off the event loop.
        ok = await asyncio.to_thread(passwords.verify_password, password_hash, body.password)
        if not ok or not user.active:
            raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
        await login_succeeded(throttle, attempt, body.username, ip)
        if passwords.needs_rehash(password_hash):
            new_hash = await asyncio.to_thread(passwords.hash_password, body.password)
            await set_password_hash(pool, user.id, new_hash)
        issued = await issue_token(pool, user.id, name=LOGIN_TOKEN_NAME, lifetime=lifetime)
        principal = Principal(user.id, user.username, user.role, user.department, user.display_name)
        return TokenOut(
            access_token=issued.token, expires_at=issued.expires_at, user=UserOut.of(principal)
        )

    @router.post("/auth/logout", status_code=204, response_class=Response)
    async def logout(principal: CurrentUser, pool: Pool) -> Response:
        """Revoke the token this request presents."""
        assert principal.token_id is not None
        await revoke_token(pool, principal.token_id)
        return Response(status_code=204)

    @router.get("/me", response_model=UserOut)
    async def me(principal: CurrentUser) -> UserOut:
        """The signed-in user."""
        return UserOut.of(principal)

    return router
