"""The WeChat official account's server API: its access token, cached, and its error codes.

Both ends of the WeChat channel call it: the adapter (``services/wechat``)
fetches the photos users send, followup's sender posts template messages.
Every call takes an ``access_token`` from ``GET /cgi-bin/token`` (valid
``expires_in`` seconds, 7200 in practice); it is kept until a little before
then, and fetched again at once when WeChat answers that it is invalid or
expired (errcode 40001, 40014, 42001): a second process fetching its own
token makes the first one's stale within five minutes, which is no error here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

# 40001 invalid credential, 40014 invalid access_token, 42001 access_token expired.
STALE_TOKEN = frozenset({40001, 40014, 42001})
# Worth trying again later: -1 system busy, 45009 the daily quota, 45011 too
# frequent calls. Every other errcode is a request WeChat will never take
# (43004 the user does not follow the account, 40003 a wrong OpenID, 40037 a
# wrong template id, 40013/40125 a wrong AppID or secret, ...).
RETRYABLE = frozenset({-1, 45009, 45011})
# Fetched again this long before WeChat says it expires.
_MARGIN = 300.0


class WechatError(Exception):
    """WeChat answered with a non-zero errcode (or not at all)."""

    def __init__(self, errcode: int, errmsg: str, *, retryable: bool | None = None) -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        # A token still refused after it was replaced: later, with a new one.
        worth_again = errcode in RETRYABLE or errcode in STALE_TOKEN
        self.retryable = worth_again if retryable is None else retryable


class WechatApi:
    """One official account's API, through ``client`` (an ``httpx.AsyncClient``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        appid: str,
        secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """The cached token, fetched when there is none or it is about to expire."""
        async with self._lock:
            if self._token is None or self._clock() >= self._expires:
                body = await self._get_json(
                    "/cgi-bin/token",
                    {
                        "grant_type": "client_credential",
                        "appid": self._appid,
                        "secret": self._secret,
                    },
                )
                _check(body)
                token = body.get("access_token")
                if not isinstance(token, str) or not token:
                    raise WechatError(-1, "no access_token in the answer", retryable=True)
                expires_in = float(body.get("expires_in") or 7200)
                self._token = token
                self._expires = self._clock() + max(expires_in - _MARGIN, expires_in / 2)
            return self._token

    def forget(self, token: str) -> None:
        """WeChat refused ``token``: the next call fetches a new one (unless
        another call did already)."""
        if self._token == token:
            self._token = None

    async def post_json(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``path`` with the access token; the answer, its
        errcode 0. A stale token is replaced and the call made once more."""
        for attempt in range(2):
            token = await self.access_token()
            try:
                response = await self._client.post(
                    f"{self._base}{path}", params={"access_token": token}, json=dict(payload)
                )
            except httpx.HTTPError as exc:
                raise WechatError(-1, f"{type(exc).__name__}: {exc}", retryable=True) from exc
            body = _json(response)
            if body.get("errcode") in STALE_TOKEN:
                self.forget(token)  # and the next call fetches a new one
                if attempt == 0:
                    continue
            _check(body)
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    async def media(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file (获取临时素材, ``/cgi-bin/media/get``): its bytes
        and content type. WeChat answers an error as JSON instead of the file."""
        for attempt in range(2):
            token = await self.access_token()
            try:
                response = await self._client.get(
                    f"{self._base}/cgi-bin/media/get",
                    params={"access_token": token, "media_id": media_id},
                )
            except httpx.HTTPError as exc:
                raise WechatError(-1, f"{type(exc).__name__}: {exc}", retryable=True) from exc
            kind = response.headers.get("content-type", "")
            if response.status_code == 200 and not kind.startswith(("application/json", "text/")):
                return response.content, kind
            body = _json(response)
            if body.get("errcode") in STALE_TOKEN:
                self.forget(token)  # and the next call fetches a new one
                if attempt == 0:
                    continue
            _check(body)
            raise WechatError(-1, "no file in the answer", retryable=True)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            response = await self._client.get(f"{self._base}{path}", params=dict(params))
        except httpx.HTTPError as exc:
            raise WechatError(-1, f"{type(exc).__name__}: {exc}", retryable=True) from exc
        return _json(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise WechatError(-1, f"HTTP {response.status_code}", retryable=True)
    try:
        body = response.json()
    except ValueError as exc:
        raise WechatError(-1, f"HTTP {response.status_code}, not JSON", retryable=True) from exc
    if not isinstance(body, dict):
        raise WechatError(-1, "not a JSON object", retryable=True)
    return body


def _check(body: Mapping[str, Any]) -> None:
    code = body.get("errcode", 0)
    if code not in (0, None):
        raise WechatError(int(code), str(body.get("errmsg", "")))
