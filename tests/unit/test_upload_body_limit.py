"""The body limit lets a route that takes files receive the files it may
take, and no more; every other route keeps TOUSU_MAX_REQUEST_BYTES."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tousu.services.gateway.body_limit import BodyLimitMiddleware, upload_bytes

LIMIT = 1024
UPLOAD = upload_bytes(LIMIT, max_files=2, max_file_bytes=4096)


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


def client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/api/v1/attachments", echo, methods=["POST"]),
            Route("/api/v1/complaints", echo, methods=["POST"]),
        ]
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=LIMIT, upload_bytes=UPLOAD)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_an_upload_route_takes_its_files_and_no_more() -> None:
    async with client() as c:
        taken = await c.post("/api/v1/attachments", content=b"x" * UPLOAD)
        assert (taken.status_code, taken.text) == (200, str(UPLOAD))
        over = await c.post("/api/v1/attachments", content=b"x" * (UPLOAD + 1))
        assert over.status_code == 413
        assert over.json()["limit_bytes"] == UPLOAD


async def test_other_routes_keep_the_request_limit() -> None:
    async with client() as c:
        assert (await c.post("/api/v1/complaints", content=b"x" * LIMIT)).status_code == 200
        over = await c.post("/api/v1/complaints", content=b"x" * (LIMIT + 1))
        assert over.status_code == 413
        assert over.json()["limit_bytes"] == LIMIT


async def test_a_chunked_upload_is_counted_against_the_upload_limit() -> None:
    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 1024

    async with client() as c:
        fits = await c.post("/api/v1/attachments", content=chunks(UPLOAD // 1024))
        assert fits.status_code == 200
        over = await c.post("/api/v1/attachments", content=chunks(UPLOAD // 1024 + 1))
        assert over.status_code == 413
