"""The delivery log: writing deliveries, claiming a department's next one,
recording each attempt, reading the log, and replaying from a point.

Order: a department's deliveries go out one at a time in the order of their
events' global positions, and a failing one holds the later ones back until
it is delivered or given up. A department's system then never sees a case
returned before it was routed to it, and while its receiver is down tousu
sends one request per back-off, not one per waiting event. The price: one
delivery in flight per department (at most a round trip each), and a
receiver that refuses one body holds its department's line until that one is
given up (``TOUSU_WEBHOOKS_GIVE_UP_HOURS``).

Claimed rows are fenced by a claim token, as the notices' outbox does: a
dispatcher whose lease ran out cannot record an outcome over its successor's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tousu.services.followup.webhooks import payload
from tousu.services.followup.webhooks.endpoints import open_secret
from tousu.shared.domain.imports import imported_versions
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.store.postgres import Connection, read_streams

# LISTEN/NOTIFY channel that wakes webhook dispatchers.
WEBHOOKS_CHANNEL = "tousu_webhooks"
OPEN = ("pending", "sending", "retrying")
_MAX_ERROR = 1000

_INSERT = """
INSERT INTO webhook_deliveries (id, department, event_id, event_type, position, complaint_id,
                                tracking_no, body, replay)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::uuid[],
                     $7::text[], $8::text[], $9::bool[])
ON CONFLICT DO NOTHING
RETURNING id
"""


@dataclass(frozen=True)
class NewDelivery:
    id: uuid.UUID
    department: str
    envelope: Envelope
    tracking_no: str | None
    body: str
    replay: bool = False


def delivery_for(
    envelope: Envelope, history: list[Envelope], department: str, *, replay: bool = False
) -> NewDelivery:
    delivery = uuid.uuid4() if replay else payload.delivery_id(department, envelope.event_id)
    text = payload.body(
        envelope, history, department=department, delivery=delivery, replayed=replay
    )
    tracking_no = next(
        (str(e.data.get("tracking_no")) for e in history if e.type == "ComplaintReceived"), None
    )
    return NewDelivery(delivery, department, envelope, tracking_no, text, replay)


async def insert(conn: Connection | asyncpg.Pool, deliveries: Sequence[NewDelivery]) -> int:
    """Store ``deliveries``; how many were new (a first delivery is stored once)."""
    if not deliveries:
        return 0
    rows = await conn.fetch(
        _INSERT,
        [d.id for d in deliveries],
        [d.department for d in deliveries],
        [d.envelope.event_id for d in deliveries],
        [d.envelope.type for d in deliveries],
        [d.envelope.global_position for d in deliveries],
        [uuid.UUID(d.envelope.stream_id.removeprefix(STREAM_PREFIX)) for d in deliveries],
        [d.tracking_no for d in deliveries],
        [d.body for d in deliveries],
        [d.replay for d in deliveries],
    )
    return len(rows)


# -- the dispatcher's side ---------------------------------------------------------

# Each active department's first open delivery, among rows whose writing
# transaction every snapshot sees as finished (below the snapshot's xmin):
# a row committed late cannot then turn up ahead of one already sent.
_HEADS = """
SELECT DISTINCT ON (d.department) d.id, d.next_attempt_at
FROM webhook_deliveries d
JOIN department_webhooks w ON w.department = d.department AND w.active
WHERE d.status IN ('pending', 'sending', 'retrying')
  AND d.tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY d.department, d.position, d.created_at, d.id
"""

# Another dispatcher claiming the same head at once waits for the row lock,
# then finds it claimed (next_attempt_at moved) and leaves it.
_CLAIM = f"""
WITH heads AS ({_HEADS})
UPDATE webhook_deliveries d
SET status = 'sending',
    attempts = d.attempts + 1,
    first_attempt_at = coalesce(d.first_attempt_at, now()),
    next_attempt_at = now() + make_interval(secs => $1),
    claim_token = $2,
    claimed_by = $3
FROM heads, department_webhooks w
WHERE d.id = heads.id AND heads.next_attempt_at <= now()
  AND d.status IN ('pending', 'sending', 'retrying') AND d.next_attempt_at <= now()
  AND w.department = d.department
RETURNING d.id, d.department, d.event_type, d.body, d.attempts, d.first_attempt_at,
          d.created_at, w.id AS webhook_id, w.url, w.sealed_secret
"""

_NEXT_DUE = f"""
SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp()) FROM ({_HEADS}) heads
"""

# Open rows the xmin rule holds back: a transaction still running somewhere
# on the server; worth looking again soon rather than at the re-check.
_HELD = """
SELECT EXISTS (SELECT 1 FROM webhook_deliveries
               WHERE status IN ('pending', 'sending', 'retrying')
                 AND tx_id >= pg_snapshot_xmin(pg_current_snapshot()))
"""

_ATTEMPT = """
INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
VALUES ($1, $2, $3, $4, $5, left($6, $7))
ON CONFLICT DO NOTHING
"""

_DELIVERED = """
UPDATE webhook_deliveries
SET status = 'delivered', delivered_at = now(), last_status_code = $3, last_error = NULL,
    claim_token = NULL
WHERE id = $1 AND claim_token = $2
"""

_FAILED = """
UPDATE webhook_deliveries
SET status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'retrying' END,
    next_attempt_at = coalesce(now() + make_interval(secs => $5::float8), next_attempt_at),
    last_status_code = $3, last_error = left($4, $6), claim_token = NULL
WHERE id = $1 AND claim_token = $2
"""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    department: str
    event_type: str
    body: str
    attempt: int
    first_attempt_at: datetime
    created_at: datetime
    url: str
    secret: str


async def claim(
    pool: asyncpg.Pool, *, lease: float, claimed_by: str
) -> tuple[uuid.UUID, list[Claimed]]:
    """Claim each active department's next delivery, if it is due."""
    token = uuid.uuid4()
    rows = await pool.fetch(_CLAIM, lease, token, claimed_by)
    return token, [
        Claimed(
            id=r["id"],
            department=r["department"],
            event_type=r["event_type"],
            body=r["body"],
            attempt=r["attempts"],
            first_attempt_at=r["first_attempt_at"],
            created_at=r["created_at"],
            url=r["url"],
            # Opened at send time: the secret exists in plain only in memory.
            secret=open_secret(r["webhook_id"], r["sealed_secret"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Attempt:
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None


async def record(
    pool: asyncpg.Pool,
    delivery: Claimed,
    token: uuid.UUID,
    attempt: Attempt,
    *,
    delivered: bool,
    retry_in: float | None,
) -> bool:
    """Log the attempt and record its outcome: delivered, retry in ``retry_in``
    seconds, or (None) given up; False when the claim was lost meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            _ATTEMPT,
            delivery.id,
            delivery.attempt,
            attempt.started_at,
            attempt.duration_ms,
            attempt.status_code,
            attempt.error,
            _MAX_ERROR,
        )
        if delivered:
            status = await conn.execute(_DELIVERED, delivery.id, token, attempt.status_code)
        else:
            status = await conn.execute(
                _FAILED,
                delivery.id,
                token,
                attempt.status_code,
                attempt.error or "",
                retry_in,
                _MAX_ERROR,
            )
    return status.rsplit(" ", 1)[-1] != "0"


async def next_due_in(pool: asyncpg.Pool) -> float | None:
    """Seconds until some department's next delivery is due (≤ 0: now); None if none."""
    value = await pool.fetchval(_NEXT_DUE)
    return float(value) if value is not None else None


async def held_back(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval(_HELD))


# -- the log, for administrators ---------------------------------------------------


@dataclass(frozen=True)
class DeliveryRecord:
    id: uuid.UUID
    department: str
    event_id: uuid.UUID
    event_type: str
    position: int
    tracking_no: str | None
    replay: bool
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime


async def list_deliveries(
    conn: Connection | asyncpg.Pool,
    department: str | None = None,
    *,
    statuses: Sequence[str] | None = None,
    limit: int = 100,
) -> list[DeliveryRecord]:
    """The latest ``limit`` deliveries (of ``department``), in delivery order."""
    rows = await conn.fetch(
        """SELECT * FROM (
               SELECT id, department, event_id, event_type, position, tracking_no, replay,
                      status, attempts, last_status_code, last_error, created_at,
                      delivered_at, next_attempt_at
               FROM webhook_deliveries
               WHERE ($1::text IS NULL OR department = $1)
                 AND ($2::text[] IS NULL OR status = any($2::text[]))
               ORDER BY position DESC, created_at DESC
               LIMIT $3) latest
           ORDER BY position, created_at""",
        department,
        list(statuses) if statuses is not None else None,
        limit,
    )
    return [DeliveryRecord(**dict(r)) for r in rows]


async def attempts_of(conn: Connection | asyncpg.Pool, delivery: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT attempt, started_at, duration_ms, status_code, error FROM webhook_attempts "
        "WHERE delivery_id = $1 ORDER BY attempt",
        delivery,
    )
    return [dict(r) for r in rows]


async def pending_by_department(conn: Connection | asyncpg.Pool) -> dict[str, tuple[int, float]]:
    """Per department: deliveries not yet made, and the age of the oldest (seconds)."""
    rows = await conn.fetch(
        """SELECT department, count(*) AS n,
                  extract(epoch FROM clock_timestamp() - min(created_at)) AS age
           FROM webhook_deliveries WHERE status IN ('pending', 'sending', 'retrying')
           GROUP BY department"""
    )
    return {r["department"]: (int(r["n"]), float(r["age"])) for r in rows}


# -- replay --------------------------------------------------------------------------


@dataclass(frozen=True)
class Replayed:
    queued: int  # new deliveries
    imported_left_out: int  # the department's imported events not sent (include_imported off)


async def replay(
    conn: Connection,
    department: str,
    *,
    from_position: int | None = None,
    since: datetime | None = None,
    include_imported: bool = False,
) -> int:
    """Deliver ``department``'s events again from a global position (inclusive)
    or from a time (recorded at or after it): new deliveries, marked replay,
    with new ids, queued in position order behind any still open. How many."""
    found = await replay_report(
        conn,
        department,
        from_position=from_position,
        since=since,
        include_imported=include_imported,
    )
    return found.queued


async def replay_report(
    conn: Connection,
    department: str,
    *,
    from_position: int | None = None,
    since: datetime | None = None,
    include_imported: bool = False,
) -> Replayed:
    """:func:`replay`, saying also how many imported events it left out.

    Imported history (``tousu import``) is left out unless
    ``include_imported``, as the live consumer leaves it out: a replay from
    a time before an import would otherwise send years of an earlier
    system's cases. A department that wants its history loaded once asks
    for it."""
    if (from_position is None) == (since is None):
        raise ValueError("give a position or a time to replay from")
    # Events decode from jsonb as the store's own connections do (a plain
    # connection, the CLI's, would hand over text).
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # Only the type and the position are read here; the envelopes come
    # through the store's own reader, whole streams at once.
    rows = await conn.fetch(
        """SELECT event_id, stream_id FROM events
           WHERE type = any($1::text[])
             AND ($2::bigint IS NULL OR global_position >= $2)
             AND ($3::timestamptz IS NULL OR recorded_at >= $3)
           ORDER BY global_position""",
        list(payload.EVENT_TYPES),
        from_position,
        since,
    )
    count = left_out = 0
    chunk = 500
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        wanted = {r["event_id"] for r in part}
        histories = await read_streams(conn, sorted({r["stream_id"] for r in part}))
        by_id = {e.event_id: (e, h) for h in histories.values() for e in h if e.event_id in wanted}
        imported = {stream: imported_versions(history) for stream, history in histories.items()}
        new = []
        for envelope, history in (by_id[r["event_id"]] for r in part):
            if payload.target(envelope) != department:
                continue
            if not include_imported and envelope.version in imported[envelope.stream_id]:
                left_out += 1
                continue
            new.append(delivery_for(envelope, history, department, replay=True))
        count += await insert(conn, new)
    if count:
        await conn.execute("SELECT pg_notify($1, '')", WEBHOOKS_CHANNEL)
    return Replayed(count, left_out)
