"""What the gateway's own ASGI middlewares share: they see HTTP requests only.

Pure ASGI (not Starlette's ``BaseHTTPMiddleware``), so that a response streams
and the context variables a middleware binds reach the route. Lifespan (and
any other) messages go straight to the app.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """An ASGI middleware for HTTP requests; a subclass writes :meth:`handle`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
