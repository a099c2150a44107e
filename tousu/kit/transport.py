"""One NATS connection, the credential on every message, and requests retried
with exponential back-off until tousu answers (or it is clearly down)."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from tousu.kit.errors import Refused, Unavailable

CREDENTIAL_HEADER = "Tousu-Credential"
MSG_ID_HEADER = "Nats-Msg-Id"
# An error code that says tousu failed, not the message: worth trying again.
INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class Retry:
    """How long to keep trying: ``attempts`` tries, each waiting ``timeout``
    seconds for the answer, with waits between them from ``first_delay``
    doubling up to ``max_delay`` (a random part added, so that adapters
    restarted together do not retry in step)."""

    attempts: int = 8
    timeout: float = 10.0
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delays(self) -> list[float]:
        out, delay = [], self.first_delay
        for _ in range(self.attempts - 1):
            out.append(delay + random.uniform(0, delay / 2))
            delay = min(delay * 2, self.max_delay)
        return out


def stream_prefix(root: str) -> str:
    """The stream names' prefix of a subject root (``tousu`` → ``TOUSU``)."""
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in root.upper())


class Connection:
    """A NATS connection that sends the credential with every message."""

    def __init__(
        self,
        nats_url: str,
        credential: str,
        *,
        name: str,
        retry: Retry,
        nats_options: dict[str, Any] | None = None,
    ) -> None:
        self.nats_url = nats_url
        self.credential = credential
        self.name = name
        self.retry = retry
        self.nats_options = dict(nats_options or {})
        self._nc: Client | None = None

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise RuntimeError("not connected: use `async with` or call connect() first")
        return self._nc

    async def connect(self) -> None:
        if self._nc is None:
            options: dict[str, Any] = {"name": self.name, "max_reconnect_attempts": -1}
            options.update(self.nats_options)
            self._nc = await nats.connect(self.nats_url, **options)

    async def close(self) -> None:
        if self._nc is not None:
            nc, self._nc = self._nc, None
            await nc.drain()

    def headers(self, **extra: str) -> dict[str, str]:
        return {CREDENTIAL_HEADER: self.credential, **extra}

    async def request(
        self, subject: str, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> Any:
        """The ``result`` of tousu's ``{"ok": true, ...}`` reply to ``body``.

        Raises :class:`Refused` at once for a refusal, :class:`Unavailable`
        after the last try when tousu never answered or failed each time.
        Only send what is safe to send twice (a reference, a command id).
        """
        payload = json.dumps(body, ensure_ascii=False).encode()
        sent = self.headers(**(headers or {}))
        last = "no try made"
        for delay in [*self.retry.delays(), None]:
            try:
                msg = await self.nc.request(
                    subject, payload, timeout=self.retry.timeout, headers=sent
                )
            except NoRespondersError:
                last = f"no service answers on {subject}"
            except (TimeoutError, NatsTimeout):
                last = f"no answer on {subject} within {self.retry.timeout:g} s"
            except ConnectionClosedError:
                raise Unavailable("the NATS connection is closed") from None
            else:
                result = _result(msg.data)
                if not isinstance(result, _Failed):
                    return result
                last = result.reason
            if delay is not None:
                await asyncio.sleep(delay)
        raise Unavailable(f"{last} (after {self.retry.attempts} tries)")


@dataclass(frozen=True)
class _Failed:
    reason: str


def _result(data: bytes) -> Any:
    """The reply's result; :class:`Refused` raised for a refusal; a
    :class:`_Failed` for an answer worth trying again."""
    try:
        reply = json.loads(data)
    except ValueError:
        return _Failed("an answer that is not JSON")
    if not isinstance(reply, dict):
        return _Failed("an answer that is not an object")
    if reply.get("ok") is True:
        return reply.get("result")
    found = reply.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(error.get("code") or INTERNAL_ERROR)
    message = str(error.get("message") or "")
    if code == INTERNAL_ERROR:
        return _Failed(f"tousu failed: {message}")
    raise Refused(code, message, error.get("details"))
