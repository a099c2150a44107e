"""The PostgreSQL event store (asyncpg)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import pydantic_core
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.events import Envelope, NewEvent
from tousu.shared.logs import get_logger
from tousu.shared.privacy.sealing import sealed_data
from tousu.shared.store.errors import (
    AlreadyProcessed,
    ConcurrencyConflict,
    IdempotencyViolation,
    UnknownPosition,
)
from tousu.shared.store.port import EventStore, UnitOfWork, Wakeup

NOTIFY_CHANNEL = "tousu_events"
_NOTIFY = "SELECT pg_notify(c, '') FROM unnest($1::text[]) AS c"

log = get_logger("tousu.store")

Connection = asyncpg.Connection | PoolConnectionProxy
DeferredWrite = Callable[[Connection], Awaitable[object]]

_COLUMNS = """global_position, event_id, stream_id, version, type, schema_version,
    occurred_at, recorded_at, correlation_id, causation_id, actor, department, data"""

# One statement: the version check, the insert and the conflict detection.
# ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key and
# then skips the row, so a short row count means "conflict or retry", never an
# aborted transaction. Readers take commits in transaction-id order, so a
# stream's next event must not come from an older transaction than its head:
# that happens only when a transaction wrote before it read the stream (a
# consumer's batch), and it is refused as a conflict, to be decided again.
_APPEND = f"""
INSERT INTO events (event_id, stream_id, version, type, schema_version, occurred_at,
                    correlation_id, causation_id, actor, department, data)
SELECT e.event_id, $1, $2 + e.n::int, e.type, e.schema_version, e.occurred_at,
       e.correlation_id, e.causation_id, e.actor, e.department, e.data
FROM unnest($3::uuid[], $4::text[], $5::int[], $6::timestamptz[], $7::uuid[], $8::uuid[],
            $9::jsonb[], $10::text[], $11::jsonb[])
     WITH ORDINALITY AS e(event_id, type, schema_version, occurred_at, correlation_id,
                          causation_id, actor, department, data, n)
WHERE (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1) = $2
  AND NOT EXISTS (SELECT FROM events
                  WHERE stream_id = $1 AND version = $2 AND tx_id > pg_current_xact_id())
ON CONFLICT DO NOTHING
RETURNING {_COLUMNS}
"""

_MARK_PROCESSED = """
INSERT INTO processed_events (consumer, event_id)
SELECT * FROM unnest($1::text[], $2::uuid[])
ON CONFLICT DO NOTHING
RETURNING consumer, event_id
"""

# read_all's order and horizon: after ($1 tx_id, $2 position), at most $3.
_NEXT_IN_COMMIT_ORDER = """
FROM events
WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, global_position
LIMIT $3
"""
_READ_ALL = f"SELECT {_COLUMNS} {_NEXT_IN_COMMIT_ORDER}"
_READ_POSITIONS = f"SELECT stream_id, global_position {_NEXT_IN_COMMIT_ORDER}"


# Committed events read_all cannot reach yet (see held_back); an index scan
# of events_commit_order from the horizon.
_HELD_BACK = """
SELECT EXISTS (SELECT 1 FROM events WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot()))
"""


def _envelope(row: asyncpg.Record) -> Envelope:
    # Validated, not model_construct-ed: pydantic-core validates the row's
    # already-typed values faster (about 5 µs an event) than model_construct
    # assembles the envelope and its actor in Python (about 7 µs), and reading
    # every event is what a projection rebuild spends its time on.
    return Envelope.model_validate(dict(row))


async def _init_connection(conn: asyncpg.Connection) -> None:
    # pydantic-core's JSON parser reads the same values as json.loads, about
    # twice as fast: every event read decodes its data and actor with it.
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=pydantic_core.from_json, schema="pg_catalog"
    )


class PgUnitOfWork(UnitOfWork):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.appended = False
        self._tracking: list[tuple[str, uuid.UUID]] = []
        self._deferred: list[DeferredWrite] = []
        self._appends = 0
        # Streams read ahead for a batch (prefetch), kept up to date with this
        # unit of work's own appends to them.
        self._streams: dict[str, list[Envelope]] = {}
        self.wakes: set[str] = set()

    @property
    def writes(self) -> int:
        return self._appends + len(self._deferred)

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for a handler's reads that the port has
        no method for; its writes go through :meth:`defer`."""
        return self._conn

    def wake_after_commit(self, channel: str) -> None:
        """NOTIFY ``channel`` once this transaction has committed (not inside it:
        see :meth:`PostgresEventStore._wake`)."""
        self.wakes.add(channel)

    def defer(self, write: DeferredWrite) -> None:
        """Run ``write`` on this transaction's connection just before it commits.

        For rows that must commit with the appends (the notification outbox);
        deferring keeps the appends the transaction's first writes.
        """
        self._deferred.append(write)

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        if not events:
            return []
        rows = await self._conn.fetch(
            _APPEND,
            stream_id,
            expected_version,
            [e.event_id for e in events],
            [e.type for e in events],
            [e.schema_version for e in events],
            [e.occurred_at for e in events],
            [e.correlation_id for e in events],
            [e.causation_id for e in events],
            [e.actor.model_dump(mode="json", exclude_none=True) for e in events],
            [e.department for e in events],
            # Personal fields are sealed here, so no stored copy holds them plain.
            await sealed_data(self._conn, events),
        )
        if len(rows) == len(events):
            self.appended = True
            self._appends += 1
            appended = [_envelope(r) for r in rows]
            if stream_id in self._streams:
                self._streams[stream_id] = [*self._streams[stream_id], *appended]
            return appended
        # Refused in whole or in part (a partial insert is undone with the
        # transaction): a retried append, a reused id, or a moved stream.
        inserted = {r["event_id"] for r in rows}
        ids = [e.event_id for e in events]
        stored = [
            r
            for r in await self._conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE event_id = any($1::uuid[]) ORDER BY version",
                ids,
            )
            if r["event_id"] not in inserted
        ]
        if not stored:
            raise ConcurrencyConflict(stream_id, expected_version, await self._version(stream_id))
        same = (
            not inserted
            and [r["event_id"] for r in stored] == ids
            and all(r["stream_id"] == stream_id for r in stored)
        )
        if not same:
            raise IdempotencyViolation(
                f"append to {stream_id}: some event ids are stored already as a different append"
            )
        return [_envelope(r) for r in stored]

    async def _version(self, stream_id: str) -> int:
        value = await self._conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(value)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        cached = self._streams.get(stream_id)
        if cached is not None:
            return [e for e in cached if e.version >= from_version]
        return await _read_stream(self._conn, stream_id, from_version)

    async def prefetch(self, stream_ids: Sequence[str]) -> None:
        # Read committed as of now, like the reads it replaces: a stream that
        # moves after this is caught by the append's version check, as ever.
        missing = [s for s in dict.fromkeys(stream_ids) if s not in self._streams]
        if missing:
            self._streams.update(await read_streams(self._conn, missing))

    async def processed_among(
        self, consumer: str, event_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        rows = await self._conn.fetch(
            "SELECT event_id FROM processed_events WHERE consumer = $1 AND event_id = any($2)",
            consumer,
            event_ids,
        )
        return {r["event_id"] for r in rows}

    async def mark_processed(self, consumer: str, event_id: uuid.UUID) -> None:
        # Written at commit, after the appends: an earlier write would fix this
        # transaction's id before the stream was read (see the migration).
        self._tracking.append((consumer, event_id))

    async def flush(self) -> None:
        for write in self._deferred:
            await write(self._conn)
        if not self._tracking:
            return
        # One statement for a batch's marks; a pair it did not insert was
        # there already (or is in the batch twice).
        inserted = await self._conn.fetch(_MARK_PROCESSED, *zip(*self._tracking, strict=True))
        if len(inserted) < len(self._tracking):
            fresh = {(r["consumer"], r["event_id"]) for r in inserted}
            for pair in self._tracking:
                if pair not in fresh:
                    raise AlreadyProcessed(*pair)
                fresh.discard(pair)  # seen once: a second mark of it is refused


async def _read_stream(
    conn: Connection | asyncpg.Pool, stream_id: str, from_version: int
) -> list[Envelope]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version",
        stream_id,
        from_version,
    )
    return [_envelope(r) for r in rows]


async def read_positions(
    conn: Connection, after_tx: int, after: int, limit: int
) -> list[tuple[str, int]]:
    """(stream, position) of what ``read_all`` would return after the event at
    (``after_tx``, ``after``), without the events: for a reader that reads
    them with their whole streams (the live projections)."""
    rows = await conn.fetch(_READ_POSITIONS, after_tx, after, limit)
    return [(r["stream_id"], r["global_position"]) for r in rows]


async def read_streams(conn: Connection, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
    """Several streams in one query, each in version order."""
    histories: dict[str, list[Envelope]] = {s: [] for s in stream_ids}
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = any($1::text[]) "
        "ORDER BY stream_id, version",
        list(stream_ids),
    )
    for row in rows:
        histories[row["stream_id"]].append(_envelope(row))
    return histories


@dataclass(frozen=True)
class Head:
    """The last event a reader of ``read_all`` could see, and how many precede it."""

    position: int  # its global_position: what ``read_all(after=...)`` takes
    tx_id: int
    count: int


async def snapshot_head(conn: Connection) -> Head | None:
    """Run in a REPEATABLE READ transaction: the end of the ``read_all`` order
    as this snapshot sees it. Everything up to it is committed and visible,
    so :func:`scan_streams` reads exactly what ``read_all`` returns up to it."""
    row = await conn.fetchrow(
        "SELECT tx_id, global_position FROM events "
        "WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot()) "
        "ORDER BY tx_id DESC, global_position DESC LIMIT 1"
    )
    if row is None:
        return None
    count = await conn.fetchval(
        "SELECT count(*) FROM events WHERE (tx_id, global_position) <= ($1::xid8, $2::bigint)",
        row["tx_id"],
        row["global_position"],
    )
    return Head(position=row["global_position"], tx_id=row["tx_id"], count=int(count))


async def scan_streams(
    conn: Connection,
    head: Head,
    *,
    streams_per_batch: int = 500,
    first: str | None = None,
    end: str | None = None,
) -> AsyncIterator[list[list[Envelope]]]:
    """Every stream's events up to ``head``, whole streams at a time; only
    the streams from ``first`` (inclusive) to ``end`` (exclusive) when given.

    Stream by stream rather than in commit order, so a caller folding each
    complaint holds one history in memory, not the whole store. Run in the
    REPEATABLE READ transaction that took ``head``, or one that imported its
    snapshot (:func:`stream_bounds` splits the streams among such readers).
    """
    batch: list[list[Envelope]] = []
    current: list[Envelope] = []
    args: list[object] = [head.tx_id, head.position]
    conditions = ["(tx_id, global_position) <= ($1::xid8, $2::bigint)"]
    # Only the bounds given, so that each is an index condition.
    if first is not None:
        args.append(first)
        conditions.append(f"stream_id >= ${len(args)}")
    if end is not None:
        args.append(end)
        conditions.append(f"stream_id < ${len(args)}")
    query = (
        f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
        "ORDER BY stream_id, version"
    )
    async for row in conn.cursor(query, *args, prefetch=5000):
        if current and row["stream_id"] != current[0].stream_id:
            batch.append(current)
            current = []
            if len(batch) >= streams_per_batch:
                yield batch
                batch = []
        current.append(_envelope(row))
    if current:
        batch.append(current)
    if batch:
        yield batch


async def stream_bounds(conn: Connection, parts: int, events: int) -> list[str]:
    """About where to cut the stream ids into ``parts`` shares of similar
    size, from a sample of about 20,000 of the store's ``events`` (all of
    them in a small store): at most ``parts - 1`` ascending ids."""
    if parts < 2 or events < 1:
        return []
    rows = await conn.fetch(
        "SELECT DISTINCT percentile_disc(f) WITHIN GROUP (ORDER BY stream_id) AS cut "
        "FROM events TABLESAMPLE SYSTEM ($2), unnest($1::float8[]) AS f GROUP BY f ORDER BY cut",
        [i / parts for i in range(1, parts)],
        min(100.0, 100.0 * 20_000 / events),
    )
    return [r["cut"] for r in rows if r["cut"] is not None]


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is (asyncpg still rolls back an
    open transaction): the default reset is a round trip per acquire, about a
    tenth of a consumer's CPU, for session state that pooled connections never
    keep (LISTEN has its own connection; advisory locks are released, SET is
    not used)."""


class ListenLost(ConnectionError):
    """The store's LISTEN connection closed: no NOTIFY can come until it listens again."""


class IdleWait:
    """How long an idle reader of the store waits for a NOTIFY before it looks
    again by itself.

    Every commit that appends sends a NOTIFY once it has committed, so a
    reader that has read everything readable need look again by itself only
    while events are held back (:meth:`PostgresEventStore.held_back`): the
    transaction they wait behind may end with no NOTIFY (rolled back, or
    appending nothing: any writing transaction on the server holds the
    horizon). Then, and right after work (a NOTIFY it woke for may have found
    its events still held back), it looks again after ``recheck`` seconds.
    Otherwise it waits up to ``quiet_recheck``: the net for a NOTIFY never
    sent (its writer died between commit and notification). A closed
    listening connection ends the wait at once with :class:`ListenLost`, so
    that the reader listens anew (and reads what it may have missed).
    """

    def __init__(self, store: PostgresEventStore, *, recheck: float, quiet_recheck: float) -> None:
        self._store = store
        self._recheck = recheck
        self._quiet_recheck = max(quiet_recheck, recheck)
        self._woken = False

    async def timeout(self, found: int) -> float:
        """Seconds to wait after a look that found ``found`` events (not a full batch)."""
        if found or self._woken or await self._store.held_back():
            return self._recheck
        return self._quiet_recheck

    async def wait(self, wakeup: Wakeup, found: int, at_most: float | None = None) -> bool:
        """Wait for a NOTIFY or the timeout (``at_most`` seconds if sooner);
        True when woken."""
        timeout = await self.timeout(found)
        if at_most is not None:
            timeout = min(timeout, at_most)
        if not wakeup.lost:
            self._woken = await wakeup.wait(timeout)
        if wakeup.lost:
            raise ListenLost("the store's LISTEN connection closed")
        return self._woken


class PostgresEventStore(EventStore):
    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn
        self._wanted: set[str] = set()
        self._notifier: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, dsn: str, *, min_size: int = 2, max_size: int = 10
    ) -> PostgresEventStore:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session
        )
        return cls(pool, dsn)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @property
    def dsn(self) -> str:
        return self._dsn

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self._pool.acquire() as conn:
            uow = PgUnitOfWork(conn)
            async with conn.transaction():
                yield uow
                await uow.flush()
        if uow.appended:
            uow.wake_after_commit(NOTIFY_CHANNEL)
        if uow.wakes:
            self._wake(uow.wakes)

    def _wake(self, channels: set[str]) -> None:
        # Sent after the commit, outside it: a NOTIFY inside the transaction
        # would take PostgreSQL's global notify lock across the commit and
        # serialise every writer. One round of notifications at a time: the
        # commits made while one is on its way share the next, not a round
        # trip each.
        self._wanted |= channels
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.create_task(self._notify())

    async def _notify(self) -> None:
        while self._wanted:
            channels, self._wanted = sorted(self._wanted), set()
            try:
                await self._pool.execute(_NOTIFY, channels)
            except Exception:  # listeners poll as well: late, not lost
                log.warning("could not notify listeners", channels=channels, exc_info=True)
                return

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        return await _read_stream(self._pool, stream_id, from_version)

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        async with self._pool.acquire() as conn:
            after_tx = 0
            if after:
                tx = await conn.fetchval(
                    "SELECT tx_id FROM events WHERE global_position = $1", after
                )
                if tx is None:
                    raise UnknownPosition(f"no event at global position {after}")
                after_tx = tx
            rows = await conn.fetch(_READ_ALL, after_tx, after, limit)
        return [_envelope(r) for r in rows]

    @asynccontextmanager
    async def wakeup(self) -> AsyncIterator[Wakeup]:
        wakeup = Wakeup()
        # A connection of its own: LISTEN belongs to a session, and a pooled
        # connection would be reset (UNLISTEN ALL) on release.
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.add_listener(NOTIFY_CHANNEL, wakeup.wake)
            # A reader that waits long for a NOTIFY learns at once that none can come.
            conn.add_termination_listener(wakeup.lose)
            yield wakeup
        finally:
            conn.remove_termination_listener(wakeup.lose)
            await conn.close()

    async def held_back(self) -> bool:
        """Whether committed events wait behind a transaction still open on the
        server (``read_all`` cannot pass it): they become readable when it
        ends, and only a commit that appends sends a NOTIFY. A reader that
        finds none may wait for the next NOTIFY rather than look again soon."""
        return bool(await self._pool.fetchval(_HELD_BACK))

    async def get_checkpoint(self, name: str) -> int:
        value = await self._pool.fetchval("SELECT position FROM checkpoints WHERE name = $1", name)
        return int(value or 0)

    async def set_checkpoint(self, name: str, position: int) -> None:
        await self._pool.execute(
            "INSERT INTO checkpoints (name, position) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()",
            name,
            position,
        )

    async def close(self) -> None:
        if self._notifier is not None:
            await self._notifier
        await self._pool.close()
