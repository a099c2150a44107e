"""Reading the staff directory from the users table (migration 0003).

Migration 0014 makes every change to an account's name, role, department or
active flag NOTIFY ``NOTIFY_CHANNEL``, whatever wrote it, so a service that
listens loads the accounts again (shared/application/context_source.py).
"""

from __future__ import annotations

import asyncpg

from tousu.shared.staff.directory import StaffAccount, StaffDirectory

NOTIFY_CHANNEL = "tousu_users"


async def load_directory(db: asyncpg.Pool | asyncpg.Connection) -> StaffDirectory:
    rows = await db.fetch("SELECT username, role, department, active FROM users")
    return StaffDirectory(
        StaffAccount(r["username"], r["role"], r["department"], r["active"]) for r in rows
    )
