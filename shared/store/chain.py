"""The hash chain over stored events (tamper evidence): sealing.

Seal ``n`` is ``sha256(seal n-1 || n as 8 bytes big-endian || digest)``, the
first one chained to 32 zero bytes, where the digest is ``sha256`` of the
event's stored row as canonical JSON (:data:`DIGEST`): position, commit
transaction, id, stream, version, type, schema version, both timestamps in
microseconds, correlation, causation, actor, department and the data exactly
as stored. Personal fields are hashed sealed (encrypted), so erasing a
complainant's key later leaves the chain intact.

Why sealing after commit, not chaining inside each append: the chain must
follow one total order that a verifier can recompute, and the store's order
is commit order ``(tx_id, global_position)``, known only once a transaction
has finished. Chaining in the append would need one lock held by every writer
from its insert to its commit, serialising all appends (the store bench runs
8 writers). The sealer instead runs after commit, in the relay leader, and
seals what ``read_all`` can see, in the same order, a batch per transaction:
appends are not slowed at all, and an event is sealed as soon as it is
readable (woken by its commit's NOTIFY; within ``TOUSU_STORE_IDLE_RECHECK``
of the end of a transaction that held it back). The price is that window,
which ``tousu audit verify`` reports as the newest events not sealed yet.
"""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg

from tousu.shared.logs import get_logger
from tousu.shared.store.postgres import Connection

log = get_logger(__name__)

GENESIS = bytes(32)

# One sealer at a time per database, whatever process it runs in: "tousu", then 0xC4.
SEAL_LOCK_KEY = 0x746F757375_00C4

# The canonical stored form of an event row ``e``, computed by PostgreSQL so
# that sealing and verifying read 32 bytes an event, not its data. jsonb's text
# is canonical (key order and spacing are fixed by the type); timestamps are
# integers so the session's time zone cannot change the text.
DIGEST = """sha256(convert_to(jsonb_build_array(
    e.global_position, e.tx_id::text, e.event_id, e.stream_id, e.version, e.type,
    e.schema_version, (extract(epoch FROM e.occurred_at) * 1000000)::bigint,
    (extract(epoch FROM e.recorded_at) * 1000000)::bigint, e.correlation_id,
    e.causation_id, e.actor, e.department, e.data)::text, 'UTF8'))"""

_DB_TROUBLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def link(previous: bytes, seq: int, digest: bytes) -> bytes:
    """The hash of seal ``seq``."""
    return hashlib.sha256(previous + seq.to_bytes(8, "big") + digest).digest()


async def seal_batch(conn: Connection, limit: int = 5000) -> int:
    """Seal up to ``limit`` unsealed events in commit order; how many were sealed.

    Only transactions below the snapshot's xmin, as ``read_all`` reads: none
    of those can still commit an event that belongs before the ones sealed.
    Returns 0 when another sealer holds the lock.
    """
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEAL_LOCK_KEY):
            return 0
        head = await conn.fetchrow(
            "SELECT seq, global_position, tx_id, hash FROM event_seals ORDER BY seq DESC LIMIT 1"
        )
        seq, position, tx_id, previous = (
            (head["seq"], head["global_position"], head["tx_id"], head["hash"])
            if head
            else (0, 0, 0, GENESIS)
        )
        rows = await conn.fetch(
            f"SELECT e.global_position, e.tx_id, e.event_id, {DIGEST} AS digest FROM events e "
            "WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint) "
            "  AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY e.tx_id, e.global_position LIMIT $3",
            tx_id,
            position,
            limit,
        )
        if not rows:
            return 0
        seqs, hashes = [], []
        for row in rows:
            seq += 1
            previous = link(previous, seq, row["digest"])
            seqs.append(seq)
            hashes.append(previous)
        await conn.execute(
            "INSERT INTO event_seals (seq, global_position, tx_id, event_id, hash) "
            "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::xid8[], $4::uuid[], $5::bytea[])",
            seqs,
            [r["global_position"] for r in rows],
            [r["tx_id"] for r in rows],
            [r["event_id"] for r in rows],
            hashes,
        )
        return len(rows)


async def seal_all(conn: Connection, limit: int = 5000) -> int:
    """Seal every event committed so far (a migrated store's history); how many."""
    total = 0
    while sealed := await seal_batch(conn, limit):
        total += sealed
    return total


async def keep_sealed(pool: asyncpg.Pool, *, interval: float = 0.5, limit: int = 5000) -> None:
    """Seal new events as they commit, until cancelled (the chain bench runs it;
    the relay leader seals on NOTIFY instead: services/relay/sealer.py).

    Polls rather than listening: one indexed query every ``interval`` when
    idle, and a backlog is drained batch after batch without waiting.
    """
    while True:
        try:
            async with pool.acquire() as conn:
                sealed = await seal_batch(conn, limit)
        except _DB_TROUBLE as exc:  # the relay's own checks deal with the database
            log.warning("sealing events failed; retrying", error=repr(exc))
            sealed = 0
        if sealed < limit:
            await asyncio.sleep(interval)
