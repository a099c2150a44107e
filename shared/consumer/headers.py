"""Headers a dead-lettered message carries, and how their values are encoded.

Free text (error messages, tracebacks) is stored JSON-encoded: a NATS header
value must be one line, and nats-py reads stream messages back through an
e-mail header parser that mangles non-ASCII values; a JSON string literal is
one line of ASCII and decodes back exactly.
"""

from __future__ import annotations

import json

MSG_ID = "Nats-Msg-Id"

ERROR = "Tousu-Error"
TRACEBACK = "Tousu-Traceback"
CONSUMER = "Tousu-Consumer"
FAILED_AT = "Tousu-Failed-At"
DELIVERIES = "Tousu-Deliveries"
ORIGINAL_SUBJECT = "Tousu-Original-Subject"
ORIGINAL_MSG_ID = "Tousu-Original-Msg-Id"
ORIGINAL_STREAM = "Tousu-Original-Stream"
ORIGINAL_SEQUENCE = "Tousu-Original-Sequence"
RETRY_OF = "Tousu-Retry-Of"
# Who sent the message (tousu.shared.application.credentials): the sender's
# secret, checked on arrival and never copied into a dead letter, where
# `tousu dlq show` would print it for anyone to send with.
CREDENTIAL = "Tousu-Credential"

# Describe one failure; dropped when the entry is replayed.
FAILURE_HEADERS = frozenset({ERROR, TRACEBACK, FAILED_AT, DELIVERIES})

ERROR_LIMIT = 1000
TRACEBACK_LIMIT = 4000


def encode_text(text: str, limit: int) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=True)


def encode_tail(text: str, limit: int) -> str:
    """Like :func:`encode_text` but keeps the end (a traceback's last frames matter)."""
    if len(text) > limit:
        text = "…" + text[-(limit - 1) :]
    return json.dumps(text, ensure_ascii=True)


def decode_text(value: str | None) -> str:
    if value is None:
        return ""
    try:
        decoded = json.loads(value)
    except ValueError:
        return value  # written by something else: show it as it is
    return decoded if isinstance(decoded, str) else value


def carried_over(headers: dict[str, str] | None) -> dict[str, str]:
    """The original message's own headers, safe to publish again elsewhere.

    ``Nats-*`` headers are instructions to the server (dedup id, expected
    sequence, ...) meant for the original publish; replaying them into another
    stream would drop or refuse the copy. The sender's credential stays behind.
    """
    return {
        k: v
        for k, v in (headers or {}).items()
        if not k.lower().startswith("nats-") and k.lower() != CREDENTIAL.lower()
    }
