"""Attachment bytes sealed with their complainant's key.

Each file gets a key of its own, derived from the complainant's data key
(shared/privacy/keys.py) and the file's hash, and is stored as
``nonce ‖ AES-256-GCM(content) ‖ tag`` with the owner and hash as associated
data (a blob copied under another name does not open). Erasing the
complainant (`tousu privacy erase`) destroys the data key: every derived key
is gone with it and the stored bytes, in the data folder, the bucket and every
backup, open no more. A file of a case with no complainant key (anonymous,
nothing personal given) is sealed with a key derived from the key-encryption
key, so a copy of the store alone still opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tousu.shared.privacy.crypto import master_key
from tousu.shared.privacy.keys import Queryable, data_keys

_NONCE = 12


class Unreadable(Exception):
    """A file whose key is gone (its complainant was erased) or whose blob does not open."""


async def owner_key(conn: Queryable, owner: uuid.UUID | None) -> bytes:
    """The key files of ``owner`` are derived from; :class:`Unreadable` once erased."""
    if owner is None:
        return hmac.new(master_key(), b"tousu unowned attachments", hashlib.sha256).digest()
    found = (await data_keys(conn, [owner])).get(owner)
    if found is None:
        raise Unreadable(f"the files of complainant {owner} were erased")
    return found


def _file_key(owner_key: bytes, sha256: str) -> bytes:
    return hmac.new(owner_key, b"tousu attachment " + sha256.encode(), hashlib.sha256).digest()


def _aad(owner: uuid.UUID | None, name: str) -> bytes:
    return (owner.bytes if owner else b"unowned") + name.encode()


def seal_blob(key: bytes, owner: uuid.UUID | None, sha256: str, name: str, plain: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(_file_key(key, sha256)).encrypt(nonce, plain, _aad(owner, name))


def open_blob(key: bytes, owner: uuid.UUID | None, sha256: str, name: str, box: bytes) -> bytes:
    try:
        return AESGCM(_file_key(key, sha256)).decrypt(box[:_NONCE], box[_NONCE:], _aad(owner, name))
    except InvalidTag as e:
        raise Unreadable(f"{name} does not open (another key, or altered)") from e
