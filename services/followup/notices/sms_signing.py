"""Request signatures of the SMS providers' APIs, exactly as they document them.

Pure functions of their inputs (the time and the nonce are arguments), so the
tests check each against the provider's published worked example, byte for byte.

- Tencent Cloud API 3.0, ``TC3-HMAC-SHA256`` ("Signature v3",
  https://www.tencentcloud.com/document/api/382/40467 for SMS): the canonical
  request (method, ``/``, empty query, the signed headers, the body's SHA-256),
  then a key derived from the secret by the UTC date, the service and
  ``tc3_request``.
- Alibaba Cloud OpenAPI V3, ``ACS3-HMAC-SHA256`` ("V3 request structure and
  signature", https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature):
  the canonical request (method, ``/``, the sorted RFC 3986 query, the ``host``,
  ``x-acs-*`` and ``content-type`` headers, the body's SHA-256), signed with the
  secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

TC3 = "TC3-HMAC-SHA256"
ACS3 = "ACS3-HMAC-SHA256"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """The canonical headers (``key:value\\n`` each, keys lower case, sorted)
    and the signed headers' names (``a;b``)."""
    items = sorted((k.strip().lower(), v.strip()) for k, v in headers.items())
    return "".join(f"{k}:{v}\n" for k, v in items), ";".join(k for k, _ in items)


def tc3_canonical_request(headers: Mapping[str, str], payload: bytes) -> str:
    """Tencent's CanonicalRequest of a POST (its only ``/`` path, no query).

    Tencent's rule lower-cases the header values too (``x-tc-action:sendsms``);
    ``content-type`` and ``host`` already are.
    """
    canonical, signed = _canonical_headers({k: v.lower() for k, v in headers.items()})
    return "\n".join(["POST", "/", "", canonical, signed, sha256_hex(payload)])


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    headers: Mapping[str, str],
    payload: bytes,
    timestamp: int,
) -> str:
    """The ``Authorization`` header of a TC3-signed POST.

    ``headers``: those to sign, at least ``content-type`` and ``host``, with
    the values sent. ``timestamp``: the request's ``X-TC-Timestamp``; its UTC
    date scopes the key (UTC, not local: at 00:44 in Beijing it is yesterday).
    """
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    canonical = tc3_canonical_request(headers, payload)
    to_sign = "\n".join([TC3, str(timestamp), scope, sha256_hex(canonical.encode())])
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed = _canonical_headers(headers)[1]
    return f"{TC3} Credential={secret_id}/{scope}, SignedHeaders={signed}, Signature={signature}"


def rfc3986(value: str) -> str:
    """Alibaba's percent-encoding: RFC 3986 unreserved kept, UTF-8 otherwise
    (space as %20, ``*`` as %2A, ``~`` kept)."""
    return quote(value, safe="-_.~")


def acs3_canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(query.items()))


def acs3_canonical_request(
    method: str, query: Mapping[str, str], headers: Mapping[str, str], payload: bytes
) -> str:
    canonical, signed = _canonical_headers(headers)
    return "\n".join(
        [method, "/", acs3_canonical_query(query), canonical, signed, sha256_hex(payload)]
    )


def acs3_authorization(
    *,
    access_key_id: str,
    access_key_secret: str,
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload: bytes = b"",
) -> str:
    """The ``Authorization`` header of an ACS3-signed request.

    ``headers``: those to sign — ``host``, every ``x-acs-*`` (the action, the
    version, the date, the nonce, ``x-acs-content-sha256`` = the payload's
    SHA-256) and ``content-type`` if sent — with the values sent.
    """
    canonical = acs3_canonical_request(method, query, headers, payload)
    to_sign = f"{ACS3}\n{sha256_hex(canonical.encode())}"
    signature = hmac.new(access_key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    signed = _canonical_headers(headers)[1]
    return f"{ACS3} Credential={access_key_id},SignedHeaders={signed},Signature={signature}"
