"""``X-Request-Id``: the correlation id of everything a request causes.

A client's id is kept when it is a UUID (events record correlation ids as
UUIDs), else a new one is made; either way it is echoed on the response,
errors included, so a client can quote it and find the events it caused.
"""

from __future__ import annotations

import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from tousu.services.gateway.asgi import HttpMiddleware
from tousu.shared.logs import bound_contextvars

HEADER = "X-Request-Id"
_STATE_KEY = "correlation_id"


def parse_request_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def correlation_id(request: Request) -> uuid.UUID:
    """The request's correlation id (set by :class:`RequestIdMiddleware`)."""
    found = request.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(found, uuid.UUID):
        return found
    # Without the middleware (an app assembled differently): from the header.
    return parse_request_id(request.headers.get(HEADER)) or uuid.uuid4()


class RequestIdMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = parse_request_id(Request(scope).headers.get(HEADER)) or uuid.uuid4()
        scope.setdefault("state", {})[_STATE_KEY] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = str(request_id)
            await send(message)

        with bound_contextvars(correlation_id=str(request_id)):
            await self.app(scope, receive, send_with_id)
