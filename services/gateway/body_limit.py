"""The largest request body the gateway reads: 413 above it, before any route
parses (or buffers) the rest."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tousu.services.gateway.asgi import HttpMiddleware
from tousu.services.gateway.problems import Text, problem, render_problem

TITLE = Text("请求内容过大", "Content too large")


def _detail(limit: int) -> Text:
    kib = limit // 1024
    return Text(f"请求内容超过 {kib} KB 上限", f"The request body exceeds the {kib} KB limit")


class BodyLimitMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            too_large = problem(
                413,
                "request_too_large",
                TITLE,
                _detail(self.max_bytes),
                limit_bytes=self.max_bytes,
            )
            await render_problem(Request(scope), too_large)(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """A body sent without its length (chunked) is counted as it arrives."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException, so that FastAPI's body parsing passes it
                    # on to the problem handlers rather than calling it a 400.
                    raise HTTPException(413, _detail(self.max_bytes).en)
            return message

        return counted
