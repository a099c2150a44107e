"""What the staff pages show of the people and the record behind a case:
staff by their display name (``users.display_name``), never their login, and
the handling requirements (处理要求) the routing rule gave each case."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

from tousu.shared.events.envelope import STREAM_PREFIX


async def display_names(pool: asyncpg.Pool | asyncpg.Connection) -> dict[str, str]:
    """Each account's display name by username (an account without one: its username)."""
    rows = await pool.fetch("SELECT username, display_name FROM users")
    return {r["username"]: r["display_name"] or r["username"] for r in rows}


async def departments(pool: asyncpg.Pool | asyncpg.Connection) -> dict[str, str | None]:
    """Each account's department by username (None: a role of no department)."""
    rows = await pool.fetch("SELECT username, department FROM users")
    return {r["username"]: r["department"] for r in rows}


def person(names: dict[str, str], username: str | None) -> str | None:
    """``username`` as a person is named on a page; a login not (or no longer)
    in the users table is shown as it is, so the record is never hidden."""
    if username is None:
        return None
    return names.get(username, username)


async def routing_requirements(
    pool: asyncpg.Pool | asyncpg.Connection, complaint_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The requirements of each case's latest routing, for the cases routed
    with some. One query for a whole page of cases (the case index has no
    column for them: they are free text of the routing event)."""
    streams = [f"{STREAM_PREFIX}{cid}" for cid in complaint_ids]
    if not streams:
        return {}
    rows = await pool.fetch(
        """SELECT DISTINCT ON (stream_id) stream_id, data->>'requirements' AS requirements
             FROM events
            WHERE stream_id = any($1::text[]) AND type = 'ComplaintRouted'
            ORDER BY stream_id, version DESC""",
        streams,
    )
    return {
        uuid.UUID(r["stream_id"].removeprefix(STREAM_PREFIX)): r["requirements"]
        for r in rows
        if r["requirements"]
    }
