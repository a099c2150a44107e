"""Tracking numbers complainants read out over the phone, and the access code
that, with the tracking number, lets them look their complaint up.

Tracking number ``TS2611-48273-91562``: ``TS``, the year and month of receipt
in Asia/Shanghai (``2611`` = 2026-11), nine random digits and a Damm check
digit over all thirteen digits before it. Digits only after the prefix, so
nothing is ambiguous when spoken; the Damm check catches every single wrong
digit and every swap of two neighbouring digits (Luhn misses 09↔90). A billion
numbers a month keep clashes rare (about 5% for a month of 10,000 complaints),
but not impossible: the store's uniqueness check is what guarantees it, and
the caller draws again on a clash.

Access code: 8 characters without 0/O, 1/I/L. Only a salted HMAC-SHA256 of it
is stored, keyed by a secret kept outside the database: a leaked events table
alone does not let anyone try codes offline, and online guessing is what the
public endpoints' rate limits stop. A keyed hash rather than argon2 because
the code is random, not a chosen password: argon2 cost 0.17 CPU-s per
complaint, three quarters of intake's whole budget. Hashes made by earlier
versions with argon2 still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import secrets
import unicodedata
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from stdnum import damm

from tousu.shared.calendar import TZ

PREFIX = "TS"
RANDOM_DIGITS = 9
_PERIOD_DIGITS = 4  # YYMM
_DIGITS = _PERIOD_DIGITS + RANDOM_DIGITS + 1
_CANONICAL = re.compile(r"^TS(\d{4})-(\d{5})-(\d{5})$")

ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCESS_CODE_LENGTH = 8  # 31**8 ≈ 8.5e11 codes; the keyed hash and rate limits do the rest
_HMAC_SCHEME = "hmac-sha256"
_SALT_BYTES = 16

# Separators people type or that phones insert: spaces, any dash, dots, underscores.
_SEPARATORS = re.compile(r"[\s\-_.·‐-―−]+")
# Letters misheard or mistyped for digits, accepted where only digits belong.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

# Only to verify codes issued before the keyed hash.
_argon2 = PasswordHasher()


def _compact(text: str) -> str:
    # NFKC turns full-width digits, letters and the full-width hyphen into ASCII.
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def _format(digits: str) -> str:
    return f"{PREFIX}{digits[:4]}-{digits[4:9]}-{digits[9:]}"


def new_tracking_no(received_at: datetime, rng: random.Random | None = None) -> str:
    """A new tracking number for a complaint received at ``received_at`` (aware)."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must carry a time zone")
    period = received_at.astimezone(TZ).strftime("%y%m")
    draw = (rng or secrets.SystemRandom()).randrange(10**RANDOM_DIGITS)
    body = f"{period}{draw:0{RANDOM_DIGITS}d}"
    return _format(body + damm.calc_check_digit(body))


def normalize_tracking_no(text: str) -> str | None:
    """The canonical form of what a person typed, or None if it cannot be one.

    Accepts full-width characters, any spacing or dashes, lower case, and a
    missing ``TS`` prefix; the check digit and the month must be right.
    """
    compact = _compact(text)
    compact = compact.removeprefix(PREFIX).translate(_LOOKALIKES)
    if len(compact) != _DIGITS or not compact.isascii() or not compact.isdigit():
        return None
    if not 1 <= int(compact[2:4]) <= 12 or not damm.is_valid(compact):
        return None
    return _format(compact)


def is_valid_tracking_no(text: str) -> bool:
    """True for a tracking number in its canonical form (as stored and printed)."""
    return _CANONICAL.match(text) is not None and normalize_tracking_no(text) == text


def new_access_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


def normalize_access_code(text: str) -> str:
    """Upper case without separators; a code typed as ``abcd-efgh`` still fits."""
    return _compact(text)


def _mac(key: bytes, salt: bytes, code: str) -> bytes:
    return hmac.new(key, salt + normalize_access_code(code).encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_access_code(code: str, key: bytes) -> str:
    """``hmac-sha256$<salt>$<mac>`` to store; the code itself is never stored."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{_HMAC_SCHEME}${_b64(salt)}${_b64(_mac(key, salt, code))}"


def verify_access_code(code_hash: str, code: str, key: bytes) -> bool:
    """Whether ``code`` is the one hashed, compared in constant time."""
    if code_hash.startswith("$argon2"):
        return _verify_argon2(code_hash, code)
    scheme, _, rest = code_hash.partition("$")
    salt_text, _, mac_text = rest.partition("$")
    try:
        salt, stored = _unb64(salt_text), _unb64(mac_text)
    except ValueError:
        return False
    if scheme != _HMAC_SCHEME or not salt or not stored:
        return False
    return hmac.compare_digest(_mac(key, salt, code), stored)


def _verify_argon2(code_hash: str, code: str) -> bool:
    try:
        return _argon2.verify(code_hash, normalize_access_code(code))
    except (VerificationError, InvalidHashError):
        return False
