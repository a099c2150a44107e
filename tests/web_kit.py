"""What the web-page tests share: the gateway in-process, staff with passwords,
signing in through the form, and reading a form's hidden fields."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.passwords import hash_password
from tousu.shared.settings import Settings

PASSWORD = "correct horse battery"


@asynccontextmanager
async def gateway_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield client


async def add_user(
    db: asyncpg.Pool | asyncpg.Connection,
    username: str,
    role: StaffRole,
    department: str | None = None,
    password: str = PASSWORD,
) -> repo.User:
    return await repo.create_user(
        db,
        username,
        role=role,
        department=department,
        display_name=username.title(),
        password_hash=hash_password(password),
    )


def hidden(html: str, name: str) -> str:
    """The value of a form's hidden field ``name``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next_path: str = ""
) -> httpx.Response:
    """Posts the sign-in form; the response (303 when signed in)."""
    page = await client.get("/staff/login")
    form = {"csrf_token": hidden(page.text, "csrf_token"), "username": username}
    form["password"] = password
    if next_path:
        form["next"] = next_path
    return await client.post("/staff/login", data=form)
