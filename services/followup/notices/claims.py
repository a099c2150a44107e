"""Claiming due notices under a lease, and recording how a send went.

Every statement here is its own short transaction: no transaction stays open
while a notice is being sent. Between claim and outcome the row is ``sending``
with a lease; the claim token fences the outcome, so a dispatcher whose lease
ran out (and whose notice another one took over) cannot overwrite the state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from tousu.services.followup.notices.model import NotificationRecord
from tousu.services.followup.notices.outbox import records
from tousu.shared.store.postgres import Connection

_MAX_ERROR = 2000

# SKIP LOCKED: replicas claiming at the same moment take different rows, and
# none waits for another's claim. A claimed row is due again when its lease ends.
_CLAIM = """
WITH due AS (
    SELECT id FROM notifications
    WHERE status IN ('pending', 'sending', 'failed')
      AND next_attempt_at <= now()
      AND channel = any($1::text[])
      AND attempts < $2
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE notifications n
SET status = 'sending',
    attempts = n.attempts + 1,
    locked_until = now() + make_interval(secs => $4),
    next_attempt_at = now() + make_interval(secs => $4),
    claim_token = $5,
    claimed_by = $6
FROM due
WHERE n.id = due.id
RETURNING n.*
"""

# A notice whose last allowed try was cut off (its dispatcher died while
# sending) has no try left: it may or may not have been delivered.
_EXPIRE = """
UPDATE notifications
SET status = 'dead', locked_until = NULL, claim_token = NULL,
    last_error = left('lease expired during the last try, outcome unknown; before: '
                      || coalesce(last_error, '-'), $3)
WHERE id IN (SELECT id FROM notifications
             WHERE status IN ('pending', 'sending', 'failed')
               AND next_attempt_at <= now()
               AND channel = any($1::text[])
               AND attempts >= $2
             FOR UPDATE SKIP LOCKED)
"""

_SENT = """
UPDATE notifications n
SET status = 'sent', sent_at = now(), provider_message_id = d.provider_id, last_error = NULL,
    locked_until = NULL, claim_token = NULL
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS d(id, token, provider_id)
WHERE n.id = d.id AND n.claim_token = d.token
RETURNING n.id
"""

_FAILED = """
UPDATE notifications
SET status = CASE WHEN $4::float8 IS NULL THEN 'dead' ELSE 'failed' END,
    next_attempt_at = coalesce(now() + make_interval(secs => $4::float8), next_attempt_at),
    last_error = left($3, $5), locked_until = NULL, claim_token = NULL
WHERE id = $1 AND claim_token = $2
"""


async def claim_due(
    conn: Connection | asyncpg.Pool,
    *,
    channels: Sequence[str],
    limit: int,
    lease: float,
    max_attempts: int,
    claimed_by: str,
) -> tuple[uuid.UUID, list[NotificationRecord]]:
    """Claim up to ``limit`` due notices on ``channels``; their claim token and records.

    Each claim counts as a try. Due notices out of tries are made dead first.
    """
    await conn.execute(_EXPIRE, list(channels), max_attempts, _MAX_ERROR)
    token = uuid.uuid4()
    rows = await conn.fetch(_CLAIM, list(channels), max_attempts, limit, lease, token, claimed_by)
    # Opened here, at send time: the contact exists in plain only in memory.
    return token, await records(conn, rows)


@dataclass(frozen=True)
class Delivery:
    notification_id: uuid.UUID
    token: uuid.UUID
    provider_id: str


async def mark_sent(conn: Connection | asyncpg.Pool, deliveries: Sequence[Delivery]) -> list[bool]:
    """Record deliveries in one statement; for each, False when its claim was
    lost (the lease ran out)."""
    rows = await conn.fetch(
        _SENT,
        [d.notification_id for d in deliveries],
        [d.token for d in deliveries],
        [d.provider_id for d in deliveries],
    )
    updated = {r["id"] for r in rows}
    return [d.notification_id in updated for d in deliveries]


async def mark_failed(
    conn: Connection | asyncpg.Pool,
    notification_id: uuid.UUID,
    token: uuid.UUID,
    error: str,
    retry_in: float | None,
) -> bool:
    """Record a failure: try again in ``retry_in`` seconds, or (None) give up."""
    return _updated(
        await conn.execute(_FAILED, notification_id, token, error, retry_in, _MAX_ERROR)
    )


async def next_due_in(conn: Connection | asyncpg.Pool, channels: Sequence[str]) -> float | None:
    """Seconds until the next notice on ``channels`` is due (≤ 0: now); None if none waits."""
    value = await conn.fetchval(
        """SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp())
           FROM notifications
           WHERE status IN ('pending', 'sending', 'failed') AND channel = any($1::text[])""",
        list(channels),
    )
    return float(value) if value is not None else None


def _updated(status: str) -> bool:
    return status.rsplit(" ", 1)[-1] != "0"
