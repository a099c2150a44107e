"""How a webhook request is signed, and how a receiver checks it.

``Tousu-Webhook-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``
with the secret's UTF-8 bytes as the key and the unix-seconds timestamp of
``Tousu-Webhook-Timestamp``: the timestamp is signed with the body, so a
captured request cannot be replayed later than the receiver's tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

ID_HEADER = "Tousu-Webhook-Id"
TIMESTAMP_HEADER = "Tousu-Webhook-Timestamp"
SIGNATURE_HEADER = "Tousu-Webhook-Signature"
EVENT_HEADER = "Tousu-Webhook-Event"
SCHEME = "v1"
# What a receiver should accept between its clock and the timestamp.
TOLERANCE = 300  # seconds
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret (shown once, by `tousu webhooks add`)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def headers(
    secret: str, delivery_id: str, event_type: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json; charset=utf-8",
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        EVENT_HEADER: event_type,
    }


def verify(
    secret: str,
    body: bytes,
    timestamp_header: str,
    signature_header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE,
) -> bool:
    """What a receiver does (docs/webhooks.md has the same in a few lines):
    the timestamp within ``tolerance`` of its clock, and one of the header's
    ``v1=`` values equal, compared in constant time, to its own signature."""
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    offered = [part.strip() for part in signature_header.split(",")]
    return any(hmac.compare_digest(expected, part) for part in offered)
