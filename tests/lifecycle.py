"""Complaints driven through the real domain onto a real store, for tests
that need a handful of cases with chosen timestamps."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tests.domain_kit import OPERATOR
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.domain import commands as c
from tousu.shared.events.types import Channel, Complainant

Step = tuple[datetime, type[c.Command], Any, dict[str, Any]]  # when, command, actor, fields
Headers = dict[str, str]


async def register(
    executor: CommandExecutor, received_at: datetime, n: int, *steps: Step
) -> uuid.UUID:
    """A phone complaint received at ``received_at`` (tracking no. from ``n``),
    then ``steps`` in order."""
    cid = uuid.uuid4()
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=received_at,
            channel=Channel.PHONE,
            tracking_no=f"TS-2026-{n:06d}",
            complainant=Complainant(name="王五", phone="13700000000"),
            subject="噪音扰民",
            description="工地夜间施工",
        ),
    )
    for when, command, actor, fields in steps:
        await executor.execute(cid, command(actor=actor, occurred_at=when, **fields))
    return cid


async def staff_accounts(
    database_url: str, people: list[tuple[str, StaffRole, str | None]]
) -> None:
    """Staff accounts (username, role, department) without a way to sign in: the
    services check that whoever claims a case is an active account of its
    department, also for commands sent straight over NATS."""
    conn = await asyncpg.connect(database_url)
    try:
        for username, role, department in people:
            await repo.create_user(
                conn, username, role=role, department=department, password_hash="!"
            )
    finally:
        await conn.close()


async def staff_tokens(
    database_url: str, people: list[tuple[str, StaffRole, str | None]], **headers: str
) -> dict[str, Headers]:
    """Bearer headers (plus ``headers``) for each (username, role, department)."""
    conn = await asyncpg.connect(database_url)
    try:
        out = {}
        for username, role, department in people:
            user = await repo.create_user(
                conn, username, role=role, department=department, password_hash="!"
            )
            token = await repo.issue_token(conn, user.id, name="test", lifetime=timedelta(hours=1))
            out[username] = {"Authorization": f"Bearer {token.token}", **headers}
        return out
    finally:
        await conn.close()
