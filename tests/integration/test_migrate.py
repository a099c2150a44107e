"""Migrations: applied once, idempotent, safe concurrently, and history is immutable."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.infra import Servers, new_database
from tousu.shared.store import migrate as migrate_module
from tousu.shared.store.migrate import Migration, MigrationError, available, migrate


@pytest.fixture
async def empty_database(servers: Servers) -> AsyncIterator[str]:
    async with new_database(servers) as url:
        yield url


async def test_concurrent_runs_apply_each_migration_once(empty_database: str) -> None:
    results = await asyncio.gather(*(migrate(empty_database) for _ in range(4)))
    names = [f"{m.version:04d}_{m.name}" for m in available()]
    assert sorted(results, key=len)[-1] == names  # one run applied all of them
    assert sum(len(r) for r in results) == len(names)  # the others found nothing to do
    assert await migrate(empty_database) == []
    conn = await asyncpg.connect(empty_database)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in available()]
    finally:
        await conn.close()


async def test_an_applied_migration_that_changed_is_refused(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(empty_database)
    first, *rest = available()
    edited = Migration(first.version, first.name, first.sql + "\n-- edited afterwards\n")
    monkeypatch.setattr(migrate_module, "available", lambda: [edited, *rest])
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(empty_database)


def test_unconfigured_database_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUSU_")}
    env["TOUSU_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tousu", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "set TOUSU_DATABASE_URL or start `tousu up`" in done.stderr
    assert "Traceback" not in done.stderr
