"""AES-256-GCM boxes for personal fields, and the wrapping of data keys.

A box is ``base64(nonce ‖ ciphertext ‖ tag)`` of the fields as JSON. The
complainant's id is the associated data, so a box copied onto another
complainant does not open. Data keys are wrapped with the master key
(``TOUSU_PRIVACY_KEY``) when one is set: a copy of the database alone then
opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_ENV = "TOUSU_PRIVACY_KEY"
_NONCE = 12
# Digests of phone numbers and e-mail addresses without a master key: still
# keyed, so that a digest is not a plain SHA-256 anyone can brute-force from
# the 10^11 phone numbers without knowing this code.
_DEFAULT_DIGEST_KEY = b"tousu complainant contact digest v1"


class SealError(Exception):
    """A box that does not open: a wrong key, a missing master key, or tampering."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


@cache
def master_key() -> bytes | None:
    """The master key from the environment, as 32 bytes (any text is stretched
    with SHA-256, so a generated hex string and a passphrase both work)."""
    value = os.environ.get(MASTER_KEY_ENV, "").strip()
    return hashlib.sha256(value.encode()).digest() if value else None


def seal(key: bytes, owner: uuid.UUID, fields: dict[str, Any]) -> str:
    nonce = os.urandom(_NONCE)
    plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    box = nonce + AESGCM(key).encrypt(nonce, plain, owner.bytes)
    return base64.b64encode(box).decode()


def open_box(key: bytes, owner: uuid.UUID, box: str) -> dict[str, Any]:
    raw = base64.b64decode(box)
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], owner.bytes)
    except InvalidTag as e:
        raise SealError(f"the personal data of complainant {owner} does not open") from e
    fields: dict[str, Any] = json.loads(plain)
    return fields


def wrap(key: bytes, owner: uuid.UUID, master: bytes | None) -> bytes:
    if master is None:
        return key
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(master).encrypt(nonce, key, owner.bytes)


def unwrap(stored: bytes, owner: uuid.UUID, wrapped: bool, master: bytes | None) -> bytes:
    if not wrapped:
        return stored
    if master is None:
        raise SealError(f"the key of complainant {owner} is wrapped: set {MASTER_KEY_ENV}")
    try:
        return AESGCM(master).decrypt(stored[:_NONCE], stored[_NONCE:], owner.bytes)
    except InvalidTag as e:
        raise SealError(f"the key of complainant {owner} does not unwrap") from e


def digest(value: str, master: bytes | None) -> bytes:
    """A keyed digest of a normalised phone number or e-mail address: how
    the same person's complaints find the same key without storing the value."""
    return hmac.new(master or _DEFAULT_DIGEST_KEY, value.encode(), hashlib.sha256).digest()
