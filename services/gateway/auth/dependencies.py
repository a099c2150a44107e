"""FastAPI dependencies: who the request acts for, and whether their role may act."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tousu.services.gateway.auth.repository import principal_for_token
from tousu.services.gateway.auth.roles import ROLE_LABELS, ROLES, Principal, StaffRole
from tousu.services.gateway.problems import Forbidden, Text, Unauthorized

# auto_error=False: a missing header becomes our own 401 problem, not FastAPI's.
_bearer = HTTPBearer(auto_error=False, description="`tousu users token` or POST /api/v1/auth/token")

NOT_SIGNED_IN = Text("请先登录：缺少 Bearer 令牌", "Sign in first: no bearer token was sent")
BAD_TOKEN = Text("令牌无效、已过期或已被撤销", "The token is invalid, expired or revoked")


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.connections.pool
    return pool


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized(NOT_SIGNED_IN)
    principal = await principal_for_token(get_pool(request), credentials.credentials)
    if principal is None:
        raise Unauthorized(BAD_TOKEN, code="invalid_token", error="invalid_token")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_roles(*roles: StaffRole) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency giving the principal when their role is one of ``roles``, else 403.

    ``principal: Principal = Depends(require_roles("operator", "supervisor"))``
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"require_roles needs roles among {ROLES}, got {roles}")
    allowed = frozenset(roles)
    zh = "、".join(ROLE_LABELS[r] for r in roles)
    en = ", ".join(roles)

    async def dependency(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                Text(
                    f"此操作仅限{zh}，当前角色为{ROLE_LABELS[principal.role]}",
                    f"Only {en} may do this; you are {principal.role}",
                ),
                code="role_forbidden",
                required_roles=sorted(allowed),
            )
        return principal

    return dependency
