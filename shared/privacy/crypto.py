"""AES-256-GCM boxes for personal fields, and the wrapping of data keys.

A box is ``base64(nonce ‖ ciphertext ‖ tag)`` of the fields as JSON. The
complainant's id is the associated data, so a box copied onto another
complainant does not open. Data keys are always wrapped with the master key
(the key-encryption key): ``TOUSU_PRIVACY_KEY`` when set, else one made once
into ``<data_dir>/privacy-key`` (mode 0600). A copy of the database alone then
opens nothing; a backup needs the key file (or the variable) beside it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_ENV = "TOUSU_PRIVACY_KEY"
# The key-encryption key in the data folder when the variable is not set.
MASTER_KEY_FILE = "privacy-key"
_NONCE = 12
# Digests made before the key-encryption key existed (no TOUSU_PRIVACY_KEY):
# keyed with this published constant, so a database dump let anyone test the
# 10^11 phone numbers against them. `tousu privacy upgrade` digests them again
# with the key below; only the upgrade still uses this one.
LEGACY_DIGEST_KEY = b"tousu complainant contact digest v1"


class SealError(Exception):
    """A box that does not open: a wrong key, a missing master key, or tampering."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class _MasterKey:
    """The key-encryption key, as 32 bytes: ``TOUSU_PRIVACY_KEY`` (any text is
    stretched with SHA-256, so a generated hex string and a passphrase both
    work), else the key kept in ``<data_dir>/privacy-key``, made on first use.

    Looked up on each call (the variable and the data folder may change, in
    tests), the file read once per path, and the key worked out once per
    setting: it is asked for with every sealed or opened record, and
    resolving the folder's path is system calls each time.
    """

    def __call__(self) -> bytes:
        configured = os.environ.get(MASTER_KEY_ENV, "").strip()
        # As Settings reads the data folder, without building all settings;
        # a relative one is the working directory's (joined, not resolved).
        folder = os.path.join(os.getcwd(), os.environ.get("TOUSU_DATA_DIR") or "./var")
        return _master(configured, folder)

    def cache_clear(self) -> None:
        _stored.cache_clear()
        _master.cache_clear()
        _digest_key.cache_clear()


@cache
def _master(configured: str, folder: str) -> bytes:
    if configured:
        return _stretched(configured.encode())
    return _stretched(_stored(Path(folder).resolve() / MASTER_KEY_FILE))


master_key = _MasterKey()


@cache
def _stored(path: Path) -> bytes:
    from tousu.shared.keys import (
        stored_key,  # tousu.shared.keys imports settings; keep this module light
    )

    return stored_key(path)


def _stretched(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def digest_key() -> bytes:
    """The key of contact digests: ``TOUSU_PRIVACY_KEY`` stretched (as it
    always was), else one derived from the data folder's key-encryption key
    (never the key itself: a digest key is used on guessable input)."""
    configured = os.environ.get(MASTER_KEY_ENV, "").strip()
    if configured:
        return _stretched(configured.encode())
    return _digest_key(master_key())


@cache
def _digest_key(master: bytes) -> bytes:
    return hmac.new(master, b"tousu contact digests", hashlib.sha256).digest()


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
        return stored  # from before keys were wrapped by default: `tousu privacy upgrade`
    if master is None:
        raise SealError(f"the key of complainant {owner} is wrapped: set {MASTER_KEY_ENV}")
    try:
        return AESGCM(master).decrypt(stored[:_NONCE], stored[_NONCE:], owner.bytes)
    except InvalidTag as e:
        raise SealError(
            f"the key of complainant {owner} does not unwrap: it was wrapped with another "
            f"key-encryption key (set {MASTER_KEY_ENV}, or use the data folder's "
            f"{MASTER_KEY_FILE}, as when it was made)"
        ) from e


def digest(value: str, key: bytes) -> bytes:
    """A keyed digest of a normalised phone number or e-mail address: how
    the same person's complaints find the same key without storing the value."""
    return hmac.new(key, value.encode(), hashlib.sha256).digest()
