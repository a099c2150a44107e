"""What the staff pages show of the people behind a case:
staff by their display name (``users.display_name``), never their login."""

from __future__ import annotations

import asyncpg


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
