"""Finding a complaint by its tracking number, for whoever holds its access code.

An unknown number, a missing code and a wrong code all give the same 404, after
the same hashing work: neither the answer nor its timing tells a guesser that a
number exists.
"""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import Request

from tousu.services.gateway.complaints.reader import Case, load_case
from tousu.services.gateway.problems import NotFound, Text
from tousu.services.gateway.throttle import LOOKUP_LOCKED, Throttle, TooManyRequests, client_ip
from tousu.services.gateway.throttle.config import FailureRule
from tousu.services.gateway.throttle.failures import Key
from tousu.shared.events import decode
from tousu.shared.events import types as ev
from tousu.shared.intake.identifiers import (
    hash_access_code,
    normalize_tracking_no,
    verify_access_code,
)
from tousu.shared.intake.tracking_numbers import complaint_of
from tousu.shared.store import EventStore

NOT_FOUND = Text(
    "未找到该投诉：请核对受理编号和查询码", "No complaint found: check the tracking number and code"
)


# Verified against when there is nothing to verify, so that a miss costs as
# long as a wrong code (the key does not matter: it never verifies).
_DECOY_HASH = hash_access_code("DECOY-CODE", b"decoy-key-never-used-for-codes")


def not_found() -> NotFound:
    return NotFound(NOT_FOUND, code="complaint_not_found")


def _code_hash(case: Case) -> str | None:
    for envelope in case.history:
        if envelope.type == "ComplaintReceived":
            data = decode(envelope)
            assert isinstance(data, ev.ComplaintReceived)
            return data.access_code_hash
    return None


async def _complaint_id(pool: asyncpg.Pool, tracking_no: str) -> uuid.UUID | None:
    number = normalize_tracking_no(tracking_no)
    if number is None:
        return None
    return await complaint_of(pool, number)


async def case_for_code(
    request: Request, tracking_no: str, code: str | None
) -> tuple[uuid.UUID, Case]:
    """The complaint and its history, or the one 404 for every kind of miss.

    After too many misses for one tracking number from one client IP, that
    client is locked out of the number (429) for a while. Misses from any IP
    also slow the number down, so a code cannot be guessed by spreading the
    attempts over many addresses; that slowdown's window is short (at most a
    minute), because it holds up the owner too, and the tracking numbers are
    not secret (Open311 lists them). Unknown numbers count the same.
    """
    state = request.app.state
    pool, store = state.connections.pool, state.connections.store
    key: bytes = state.access_code_key
    throttle: Throttle = state.throttle
    number = normalize_tracking_no(tracking_no) or tracking_no.strip().upper()[:40]
    counts: tuple[tuple[FailureRule, Key], ...] = (
        ("lookup_failures", (number, client_ip(request.scope))),
        ("lookup_failures_number", number),
    )
    for rule, count_key in counts:
        wait = throttle.failure_blocked(rule, count_key)
        if wait is not None:
            raise TooManyRequests(LOOKUP_LOCKED, wait, code="lookup_locked")
    # A miss until the code proves right (see Attempt: no await since the check).
    attempt = throttle.attempt(counts)
    try:
        found = await _case_for_code(pool, store, key, tracking_no, code)
    except NotFound:
        raise
    except BaseException:
        attempt.succeeded()  # not a miss: the look-up itself failed
        raise
    attempt.succeeded()
    throttle.forgive(*counts[0])
    return found


async def _case_for_code(
    pool: asyncpg.Pool, store: EventStore, key: bytes, tracking_no: str, code: str | None
) -> tuple[uuid.UUID, Case]:
    complaint_id = await _complaint_id(pool, tracking_no)
    # An unknown number reads a stream too (one that cannot exist): with codes
    # checked by a fast HMAC, skipping the read would make a miss measurably
    # quicker than a wrong code, and so tell a guesser which numbers exist.
    case = await load_case(store, complaint_id or uuid.uuid4())
    code_hash = _code_hash(case)
    if code_hash is None or not code:
        verify_access_code(_DECOY_HASH, code or "", key)
        raise not_found()
    if not verify_access_code(code_hash, code, key):
        raise not_found()
    assert complaint_id is not None
    return complaint_id, case
