"""The largest request body the gateway reads: 413 above it, before any route
parses (or buffers) the rest.

A route that takes files (:data:`UPLOADS`) may receive more: the most files a
step takes, each as large as a file may be, beside the usual form."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tousu.services.gateway.asgi import HttpMiddleware
from tousu.services.gateway.problems import Text, problem, render_problem

TITLE = Text("请求内容过大", "Content too large")

# POST routes that take files (docs/attachments.md), by their whole path.
UPLOADS: tuple[re.Pattern[str], ...] = (
    re.compile(r"/api/v1/attachments"),
    re.compile(r"/api/v1/complaints/[^/]+/attachments"),
    re.compile(r"/open311/v2/requests\.(json|xml)"),
    # The web forms with a file field (services/gateway/web/uploads.py).
    re.compile(r"/complaints/new"),
    re.compile(r"/staff/intake/new"),
    # The staff case page's forms that take evidence (web/staff/actions.py, evidence=True).
    re.compile(r"/staff/cases/[^/]+/(investigation|plan|progress|resolve|resolve-short|supervise)"),
)


def upload_bytes(max_request_bytes: int, max_files: int, max_file_bytes: int) -> int:
    """The most an upload route reads: its form, and every file it may take."""
    return max_request_bytes + max_files * max_file_bytes


def _detail(limit: int) -> Text:
    kib = limit // 1024
    return Text(f"请求内容超过 {kib} KB 上限", f"The request body exceeds the {kib} KB limit")


class BodyLimitMiddleware(HttpMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int = 0,
        uploads: Sequence[re.Pattern[str]] = UPLOADS,
    ) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.upload_bytes = max(upload_bytes, max_bytes)
        self.uploads = tuple(uploads)

    def _limit(self, scope: Scope) -> int:
        if scope["method"] == "POST" and any(p.fullmatch(scope["path"]) for p in self.uploads):
            return self.upload_bytes
        return self.max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            too_large = problem(
                413,
                "request_too_large",
                TITLE,
                _detail(limit),
                limit_bytes=limit,
            )
            await render_problem(Request(scope), too_large)(scope, receive, send)
            return
        await self.app(scope, self._counting(receive, limit), send)

    def _counting(self, receive: Receive, limit: int) -> Receive:
        """A body sent without its length (chunked) is counted as it arrives."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException, so that FastAPI's body parsing passes it
                    # on to the problem handlers rather than calling it a 400.
                    raise HTTPException(413, _detail(limit).en)
            return message

        return counted
