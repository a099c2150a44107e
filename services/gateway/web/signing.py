"""Short tamper-proof tokens: a payload, when it was issued, and an HMAC over both.

Signed, not encrypted: the holder can read the payload, so it carries only
what the holder may see anyway. A token is bound to one ``purpose``, so a
token minted for one use (a CSRF token) is worthless for another (a case view).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

_SEP = "."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, body: str) -> str:
        message = f"{purpose}\n{body}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def sign(self, purpose: str, payload: str, *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        body = f"{_b64(payload.encode())}{_SEP}{issued}"
        return f"{body}{_SEP}{self._mac(purpose, body)}"

    def unsign(
        self, purpose: str, token: str | None, max_age: float, *, now: float | None = None
    ) -> str | None:
        """The payload, or None for a token that is missing, forged, mangled or too old."""
        if not token or token.count(_SEP) != 2:
            return None
        body, _, mac = token.rpartition(_SEP)
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        encoded, _, issued = body.partition(_SEP)
        try:
            age = (time.time() if now is None else now) - int(issued)
            payload = _unb64(encoded).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        # A little slack for a clock that moved back between replicas.
        if age > max_age or age < -60:
            return None
        return payload
