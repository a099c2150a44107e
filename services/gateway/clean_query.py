"""Query strings and paths with control characters are refused with a 422
naming the parameter, before any route sees them.

One place for every route, API and web page alike: a NUL in ``?q=`` or in a
path segment would otherwise reach PostgreSQL, which refuses it in text, and
the client would get a 500 for its own typing error.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from tousu.services.gateway.asgi import HttpMiddleware
from tousu.services.gateway.problems import Text, Unprocessable, render_problem
from tousu.shared.domain.inputs import CONTROL_CHARACTER, control_character


def refused_parameter(scope: Scope) -> tuple[str, str] | None:
    """(field, why) for the first parameter or path holding a control character."""
    raw: bytes = scope.get("query_string", b"")
    # Decoded as Starlette decodes it (percent-escapes as UTF-8).
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        problem = control_character(name) or control_character(value)
        if problem is not None:
            return f"query.{name}", problem
    problem = control_character(scope.get("path", ""))
    return ("path", problem) if problem is not None else None


class CleanQueryMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = refused_parameter(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        field, problem = refused
        unprocessable = Unprocessable(
            Text(f"{field} 含有控制字符", f"{field} {problem}"),
            errors=[{"field": field, "message": problem, "type": CONTROL_CHARACTER}],
        )
        await render_problem(Request(scope), unprocessable)(scope, receive, send)
