"""The PostgreSQL store's notifications after commit, and its pooled connections
returned without a reset round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.helpers import eventually
from tousu.shared.store.postgres import NOTIFY_CHANNEL, PgUnitOfWork, PostgresEventStore

OTHER = "tousu_test_wakes"


@pytest.fixture
async def heard(database_url: str) -> AsyncIterator[list[str]]:
    """Channels notified, in the order heard, by a listener on both channels."""
    channels: list[str] = []
    conn = await asyncpg.connect(database_url)
    for channel in (NOTIFY_CHANNEL, OTHER):
        await conn.add_listener(channel, lambda _c, _p, ch, _payload: channels.append(ch))
    try:
        yield channels
    finally:
        await conn.close()


async def test_a_wake_is_sent_after_commit_and_not_after_rollback(
    store: PostgresEventStore, heard: list[str]
) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit_of_work() as uow:
            assert isinstance(uow, PgUnitOfWork)
            uow.wake_after_commit(OTHER)
            raise RuntimeError("rolled back")
    async with store.unit_of_work() as uow:
        assert isinstance(uow, PgUnitOfWork)
        uow.wake_after_commit(NOTIFY_CHANNEL)
    await eventually(lambda: NOTIFY_CHANNEL in heard, "the committed wake")
    # One notifier sends the rounds in order: had the rolled-back unit of
    # work asked, its channel would have been heard first.
    assert heard == [NOTIFY_CHANNEL]


async def test_concurrent_commits_are_all_followed_by_a_wake(
    store: PostgresEventStore, heard: list[str]
) -> None:
    async def one() -> None:
        async with store.unit_of_work() as uow:
            assert isinstance(uow, PgUnitOfWork)
            uow.wake_after_commit(OTHER)

    await asyncio.gather(*(one() for _ in range(30)))
    await eventually(lambda: OTHER in heard, "a wake after the commits")


async def test_a_connection_comes_back_without_an_open_transaction(
    store: PostgresEventStore,
) -> None:
    async with store.pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (n int)")
    for _ in range(store.pool.get_size()):
        async with store.pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
