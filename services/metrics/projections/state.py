"""Per projection: the schema its table was built with and its position in
the ``read_all`` order (table ``projection_state``), and the advisory locks
that keep writers of one projection from overlapping."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tousu.services.metrics.projections.base import Projection
from tousu.shared.store.postgres import Connection


@dataclass(frozen=True)
class State:
    schema_version: int
    position: int


@dataclass(frozen=True)
class Place:
    """A projection's state and where its position is in ``read_all`` order:
    (``tx_id``, ``position``); ``tx_id`` None at 0 (the start), or when no
    event has that position."""

    schema_version: int
    position: int
    tx_id: int | None


def _key(purpose: str, name: str) -> int:
    digest = hashlib.sha256(f"tousu.projection.{purpose}.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def write_lock(name: str) -> int:
    """Held (per transaction) by whoever writes the live table or moves its
    position: the live runners, and a rebuild while it swaps tables."""
    return _key("write", name)


def rebuild_lock(name: str) -> int:
    """Held (per session) by the one rebuild of a projection under way."""
    return _key("rebuild", name)


async def load(conn: Connection, name: str) -> State | None:
    row = await conn.fetchrow(
        "SELECT schema_version, position FROM projection_state WHERE name = $1", name
    )
    return State(row["schema_version"], row["position"]) if row else None


async def load_all(conn: Connection, names: list[str]) -> dict[str, Place]:
    """The states of the projections named that have one."""
    rows = await conn.fetch(
        "SELECT s.name, s.schema_version, s.position, e.tx_id FROM projection_state s "
        "LEFT JOIN events e ON e.global_position = s.position WHERE s.name = any($1::text[])",
        names,
    )
    return {r["name"]: Place(r["schema_version"], r["position"], r["tx_id"]) for r in rows}


async def move(conn: Connection, names: list[str], position: int) -> None:
    """Set the position of projections that have a state (a live step's)."""
    await conn.execute(
        "UPDATE projection_state SET position = $2, updated_at = now() "
        "WHERE name = any($1::text[])",
        names,
        position,
    )


async def save(conn: Connection, name: str, state: State, *, rebuilt: bool = False) -> None:
    await conn.execute(
        """INSERT INTO projection_state (name, schema_version, position, rebuilt_at)
           VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END)
           ON CONFLICT (name) DO UPDATE SET
               schema_version = excluded.schema_version,
               position = excluded.position,
               rebuilt_at = CASE WHEN $4 THEN now() ELSE projection_state.rebuilt_at END,
               updated_at = now()""",
        name,
        state.schema_version,
        state.position,
        rebuilt,
    )


async def ensure_table(conn: Connection, projection: Projection) -> bool:
    """Create the projection's table, empty and at position 0, if it has none.

    An empty table at position 0 is a correct projection of the store: the
    live runner fills it from the first event. Returns True if created.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", write_lock(projection.name))
        if await load(conn, projection.name) is not None:
            return False
        await drop_tables(conn, projection, projection.name)
        await conn.execute(projection.create_sql(projection.name))
        await save(conn, projection.name, State(projection.schema_version, 0))
        return True


async def drop_tables(conn: Connection, projection: Projection, table: str) -> None:
    """Drop ``table`` and the tables kept from it, if they exist."""
    for name in (table, *projection.derived_tables(table)):
        await conn.execute(f"DROP TABLE IF EXISTS {name}")
