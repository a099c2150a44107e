"""The largest request body the gateway reads: 413 above it, before any route
parses (or buffers) the rest."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tousu.services.gateway.problems import Text, problem_response

TITLE = Text("请求内容过大", "Content too large")


def _detail(limit: int) -> Text:
    kib = limit // 1024
    return Text(f"请求内容超过 {kib} KB 上限", f"The request body exceeds the {kib} KB limit")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            request = Request(scope)
            response = problem_response(
                request,
                status=413,
                title=TITLE,
                detail=_detail(self.max_bytes),
                code="request_too_large",
                extra={"limit_bytes": self.max_bytes},
            )
            await response(scope, receive, send)
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
