"""Per-client-IP limits on the public endpoints, in front of every route.

One table of (method, path) → rule covers the API, Open311 and the web forms
alike. The client IP is the connection's: behind a reverse proxy run uvicorn
with ``--proxy-headers --forwarded-allow-ips=<the proxy>`` so that it is the
real client's, not the proxy's (a forged X-Forwarded-For is never trusted here).
"""

from __future__ import annotations

import html
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from tousu.services.gateway.asgi import HttpMiddleware
from tousu.services.gateway.problems import localize, render_problem, request_language
from tousu.services.gateway.throttle.config import Rule
from tousu.services.gateway.throttle.limiter import Throttle
from tousu.services.gateway.throttle.problems import TOO_MANY, TooManyRequests

_NO = r"[^/]+"
_TABLE: tuple[tuple[str, str, Rule], ...] = (
    ("POST", r"/api/v1/public/complaints", "submit"),
    ("POST", r"/complaints/new", "submit"),
    ("POST", r"/open311/v2/requests\.[a-z]+", "submit"),
    ("GET", rf"/api/v1/public/complaints/{_NO}", "lookup"),
    ("GET", rf"/api/v1/public/complaints/{_NO}/notices/{_NO}\.pdf", "lookup"),
    ("POST", r"/track", "lookup"),
    ("POST", rf"/api/v1/public/complaints/{_NO}/follow-up", "survey"),
    ("POST", r"/track/follow-up", "survey"),
    ("POST", r"/api/v1/auth/token", "login"),
    ("POST", r"/staff/login", "login"),
)
ROUTES = tuple((method, re.compile(path), rule) for method, path, rule in _TABLE)


def rule_for(method: str, path: str) -> Rule | None:
    for m, pattern, rule in ROUTES:
        if m == method and pattern.fullmatch(path.rstrip("/") or "/"):
            return rule
    return None


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware(HttpMiddleware):
    """Answers 429 once a client IP has used up an endpoint's limit."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = rule_for(scope["method"], scope["path"])
        # Looked up per request: tests swap in a throttle with their own limits.
        throttle: Throttle | None = getattr(scope["app"].state, "throttle", None)
        if rule is not None and throttle is not None:
            wait = await throttle.hit(rule, client_ip(scope))
            if wait is not None:
                await too_many(Request(scope), wait)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def too_many(request: Request, wait: int) -> Response:
    problem = TooManyRequests(TOO_MANY, wait)
    if request.url.path.startswith(("/api/", "/open311/")):
        return render_problem(request, problem)
    # A person at a web form: a readable page rather than a JSON document.
    lang = request_language(request)
    text = html.escape(localize(problem.detail, lang))
    page = (
        f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><meta charset="utf-8">'
        f"<title>{text}</title><p>{text}</p></html>"
    )
    return HTMLResponse(page, status_code=429, headers=problem.headers)
