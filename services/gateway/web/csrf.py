"""CSRF protection for forms, stateless: a signed double-submit token.

Each form carries the token in a hidden field and the browser holds the same
token in a cookie. A POST passes when both are present, equal and carry a
valid signature. A cross-site page can make the browser send the cookie but
cannot read it to fill in the field; the signature stops a cookie planted
from a sibling (sub)domain, which would otherwise let an attacker choose both
halves. No server state, so it works before anyone signs in and on any
replica that shares the key; staff sessions use the same tokens.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from tousu.services.gateway.web.signing import Signer

COOKIE = "tousu_csrf"
FIELD = "csrf_token"
PURPOSE = "csrf"
# Long enough for someone to write a long complaint at their own pace.
MAX_AGE = 24 * 3600


class Csrf:
    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def _valid(self, token: str | None) -> bool:
        return self._signer.unsign(PURPOSE, token, MAX_AGE) is not None

    def token(self, request: Request) -> str:
        """The browser's valid token (so several tabs keep working), else a new one."""
        current = request.cookies.get(COOKIE)
        if current and self._valid(current):
            return current
        return self._signer.sign(PURPOSE, secrets.token_urlsafe(16))

    def set_cookie(self, response: Response, request: Request, token: str) -> None:
        if request.cookies.get(COOKIE) == token:
            return
        response.set_cookie(
            COOKIE,
            token,
            max_age=MAX_AGE,
            path="/",
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )

    def verify(self, request: Request, form: Mapping[str, object]) -> bool:
        cookie = request.cookies.get(COOKIE)
        field = form.get(FIELD)
        if not cookie or not isinstance(field, str) or not field:
            return False
        return hmac.compare_digest(cookie, field) and self._valid(cookie)
