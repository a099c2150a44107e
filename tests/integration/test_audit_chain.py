"""The hash chain over stored events: sealing, and finding the first tampered
event after rows were changed with SQL. PostgreSQL only: the chain follows
the PostgreSQL store's commit order; the memory store has no tampering
surface worth chaining."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from tests.helpers import eventually, tousu
from tests.processes import spawn, stop
from tousu.database import prepare_database
from tousu.shared.events import NewEvent
from tousu.shared.store.chain import seal_all
from tousu.shared.store.chain_verify import ChainReport, verify_chain
from tousu.shared.store.postgres import PostgresEventStore

STREAMS = 4
EVENTS_PER_APPEND = 3


async def _fill(store: PostgresEventStore, rounds: int = 2) -> list[int]:
    """Appends from concurrent writers, several events a transaction; the
    positions in commit order."""

    async def writer(stream: str) -> None:
        version = 0
        for _ in range(rounds):
            events = [
                NewEvent(type="ProgressReported", data={"stream": stream, "n": version + i})
                for i in range(EVENTS_PER_APPEND)
            ]
            async with store.unit_of_work() as uow:
                await uow.append(stream, version, events)
            version += EVENTS_PER_APPEND

    await asyncio.gather(*(writer(f"complaint-{uuid.uuid4()}") for _ in range(STREAMS)))
    rows = await store.pool.fetch(
        "SELECT global_position FROM events ORDER BY tx_id, global_position"
    )
    return [r["global_position"] for r in rows]


async def _verify(store: PostgresEventStore) -> ChainReport:
    async with store.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await verify_chain(conn)


async def _seal(store: PostgresEventStore, count: int) -> None:
    """Seal until ``count`` events are: a transaction still open anywhere in
    the cluster (another test's) holds the snapshot's xmin back a moment."""
    sealed = 0

    async def done() -> bool:
        nonlocal sealed
        async with store.pool.acquire() as conn:
            sealed += await seal_all(conn)
        return sealed >= count

    await eventually(done, f"{count} events sealed")
    assert sealed == count


async def _sealed_store(store: PostgresEventStore) -> list[int]:
    positions = await _fill(store)
    await _seal(store, len(positions))
    return positions


async def test_a_clean_store_verifies_and_counts_what_is_not_sealed_yet(
    store: PostgresEventStore,
) -> None:
    positions = await _fill(store)
    before = await _verify(store)
    assert (before.intact, before.verified, before.unsealed) == (True, 0, len(positions))

    await _seal(store, len(positions))
    sealed = await _verify(store)
    assert (sealed.intact, sealed.verified, sealed.unsealed) == (True, len(positions), 0)

    more = await _fill(store, rounds=1)
    report = await _verify(store)
    assert (report.intact, report.verified) == (True, len(positions))
    assert report.unsealed == len(more) - len(positions)
    seals = await store.pool.fetch("SELECT global_position FROM event_seals ORDER BY seq")
    assert [r["global_position"] for r in seals] == positions  # sealed in commit order


async def test_an_edited_event_is_named(store: PostgresEventStore) -> None:
    positions = await _sealed_store(store)
    target = positions[7]
    await store.pool.execute(
        "UPDATE events SET data = jsonb_set(data, '{n}', '99') WHERE global_position = $1", target
    )
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("edited", target)
    assert report.verified == 7
    row = await store.pool.fetchrow(
        "SELECT event_id, stream_id, type FROM events WHERE global_position = $1", target
    )
    assert (report.problem.event_id, report.problem.stream_id, report.problem.type) == tuple(row)


async def test_a_changed_timestamp_is_an_edit(store: PostgresEventStore) -> None:
    positions = await _sealed_store(store)
    await store.pool.execute(
        "UPDATE events SET occurred_at = occurred_at - interval '1 microsecond' "
        "WHERE global_position = $1",
        positions[-1],
    )
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("edited", positions[-1])


async def test_a_deleted_event_names_the_next_one(store: PostgresEventStore) -> None:
    positions = await _sealed_store(store)
    gone = await store.pool.fetchval(
        "DELETE FROM events WHERE global_position = $1 RETURNING event_id", positions[5]
    )
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("deleted", positions[6])
    assert (report.problem.other_position, report.problem.other_event_id) == (positions[5], gone)


async def test_an_event_deleted_with_its_seal_names_the_next_one(
    store: PostgresEventStore,
) -> None:
    positions = await _sealed_store(store)
    await store.pool.execute("DELETE FROM events WHERE global_position = $1", positions[5])
    await store.pool.execute("DELETE FROM event_seals WHERE global_position = $1", positions[5])
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("deleted", positions[6])


async def test_two_swapped_events_name_the_first(store: PostgresEventStore) -> None:
    positions = await _sealed_store(store)
    first, second = positions[3], positions[9]
    async with store.pool.acquire() as conn, conn.transaction():
        a, b = [
            await conn.fetchrow("SELECT event_id, data FROM events WHERE global_position = $1", p)
            for p in (first, second)
        ]
        # Through a spare id: event ids are unique at every row.
        await conn.execute(
            "UPDATE events SET event_id = $2 WHERE global_position = $1", first, uuid.uuid4()
        )
        for position, other in ((second, a), (first, b)):
            await conn.execute(
                "UPDATE events SET event_id = $2, data = $3 WHERE global_position = $1",
                position,
                other["event_id"],
                other["data"],
            )
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("reordered", first)
    assert (report.problem.event_id, report.problem.other_event_id) == (
        b["event_id"],
        a["event_id"],
    )


async def test_a_changed_commit_order_names_the_first_event_moved(
    store: PostgresEventStore,
) -> None:
    positions = await _sealed_store(store)
    first, second = positions[2], positions[-1]  # in different transactions
    await store.pool.execute(
        "UPDATE events e SET tx_id = o.tx_id FROM events o "
        "WHERE (e.global_position, o.global_position) IN (($1, $2), ($2, $1))",
        first,
        second,
    )
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("reordered", first)


async def test_an_event_inserted_into_the_sealed_past_is_named(
    store: PostgresEventStore,
) -> None:
    await _sealed_store(store)
    forged = await store.pool.fetchval(
        "INSERT INTO events (event_id, stream_id, version, type, schema_version, occurred_at, "
        "correlation_id, actor, data, tx_id) VALUES ($1, 'complaint-x', 1, 'ComplaintClosed', 1, "
        "now(), $1, '{}', '{}', '3'::xid8) RETURNING global_position",
        uuid.uuid4(),
    )
    report = await _verify(store)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.position) == ("inserted", forged)


async def test_migration_seals_an_existing_store(
    store: PostgresEventStore, database_url: str
) -> None:
    positions = await _fill(store)
    await store.pool.execute(
        "DROP TABLE event_seals; DELETE FROM schema_migrations WHERE name = 'event_chain'"
    )
    applied = await prepare_database(database_url)
    assert applied[0] == "0012_event_chain"
    report = await _verify(store)
    # All of them, unless a transaction open elsewhere in the cluster held
    # the sealer back; the relay seals those.
    assert report.intact and report.verified + report.unsealed == len(positions)
    assert applied[1:] == ([f"sealed {report.verified} events"] if report.verified else [])


async def test_the_relay_seals_new_events_within_seconds(
    store: PostgresEventStore, child_env: dict[str, str], tmp_path: Path
) -> None:
    relay = spawn("relay", child_env, tmp_path)
    try:
        positions = await _fill(store)

        async def all_sealed() -> bool:
            report = await _verify(store)
            return report.intact and (report.verified, report.unsealed) == (len(positions), 0)

        await eventually(all_sealed, "the relay to seal every event", timeout=15)
    finally:
        stop(relay)


async def test_cli_verify(store: PostgresEventStore, child_env: dict[str, str]) -> None:
    positions = await _sealed_store(store)
    code, out, _ = await tousu(child_env, "audit", "verify")
    assert code == 0, out
    assert f"哈希链完整：已校验 {len(positions)} 个事件" in out

    await store.pool.execute(
        "UPDATE events SET data = '{\"n\": 0}' WHERE global_position = $1", positions[4]
    )
    code, out, _ = await tousu(child_env, "audit", "verify", "--lang", "en")
    assert code == 1, out
    assert "first bad event" in out and f"position {positions[4]}," in out and "edited" in out
