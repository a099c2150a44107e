"""Whether a callback comes from WeChat: the signature of 接入指南 (access guide).

WeChat sends ``signature``, ``timestamp`` and ``nonce`` in the query of every
callback, the URL verification (GET, with ``echostr``) and each message
(POST): ``signature`` is the hex SHA-1 of the Token entered in the account's
server configuration, ``timestamp`` and ``nonce``, sorted as strings and
joined. Plaintext mode (明文模式) signs nothing else: the body is not covered.
"""

from __future__ import annotations

import hashlib
import hmac


def signature(token: str, timestamp: str, nonce: str) -> str:
    """The signature WeChat computes: sha1(''.join(sorted([token, timestamp, nonce])))."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


def verify(token: str, given: str | None, timestamp: str | None, nonce: str | None) -> bool:
    """Whether ``given`` is the signature of ``timestamp`` and ``nonce`` under ``token``."""
    if not (given and timestamp and nonce):
        return False
    # In constant time: the signature is the one secret-derived value compared.
    return hmac.compare_digest(signature(token, timestamp, nonce), given.lower())
