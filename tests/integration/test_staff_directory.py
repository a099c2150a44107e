"""The staff directory a service decides claims with follows the users table:
loaded at start, loaded again on every change (migration 0014's NOTIFY),
whoever makes the change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.helpers import eventually
from tousu.services.gateway.auth import repository as repo
from tousu.shared.application.context_source import ContextSource
from tousu.shared.settings import Settings


@pytest.fixture
async def source(database_url: str) -> AsyncIterator[ContextSource]:
    started = ContextSource.for_settings(Settings())
    await started.start(database_url)
    try:
        yield started
    finally:
        await started.stop()


async def test_accounts_added_disabled_and_moved_are_seen_at_once(
    source: ContextSource, pool: asyncpg.Pool
) -> None:
    def problem() -> str | None:
        return source().staff_problem("h-lin", "water")

    assert "nobody yet" in str(problem())  # loaded at start: no accounts
    await repo.create_user(pool, "h-lin", role="handler", department="water", password_hash="!")
    await eventually(lambda: problem() is None, "the new account")
    await repo.disable_user(pool, "h-lin")
    await eventually(lambda: problem() is not None, "the account disabled")
    # An operator's own SQL is seen too.
    await pool.execute("UPDATE users SET active = true, department = 'transport'")
    await eventually(lambda: source().staff_problem("h-lin", "transport") is None, "the move")
    assert "allowed: nobody yet" in str(problem())


async def test_a_source_that_was_never_started_checks_no_account() -> None:
    """Tools and tests that decide without the services: only the shape is checked
    (by the decider), never the accounts."""
    assert ContextSource.for_settings(Settings())().staff_problem("anyone", "water") is None
