"""Imported calendar years in a real PostgreSQL: round trip, replacement, NOTIFY."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import asyncpg
import pytest

from tousu.shared.calendar import TZ, WorkdayCalendar, YearData, parse_calendar_yaml
from tousu.shared.calendar.repository import NOTIFY_CHANNEL, load_years, save_years

EXAMPLE_2027 = Path(__file__).resolve().parents[2] / "shared/calendar/data/example-2027.yaml"


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


def example_years() -> list[YearData]:
    return parse_calendar_yaml(EXAMPLE_2027.read_text(encoding="utf-8"))


async def test_round_trip(conn: asyncpg.Connection) -> None:
    assert await load_years(conn) == []
    years = example_years()
    await save_years(conn, years, "tester")
    loaded = await load_years(conn)
    assert loaded == years
    assert loaded[0].source_document == years[0].source_document
    row = await conn.fetchrow("SELECT imported_by, imported_at FROM calendar_years")
    assert row is not None
    assert row["imported_by"] == "tester" and row["imported_at"] is not None
    start = datetime(2026, 12, 31, 9, tzinfo=TZ)
    assert not WorkdayCalendar(loaded).add_working_days(start, 15).provisional


async def test_import_replaces_the_year(conn: asyncpg.Connection) -> None:
    await save_years(conn, example_years(), "first")
    other = YearData(2028, {date(2028, 1, 1): "元旦"}, {}, "imported")
    await save_years(conn, [other], "first")
    corrected = YearData(
        2027,
        {date(2027, 1, 1): "元旦", date(2027, 3, 1): "更正"},
        {date(2027, 1, 2): "调休上班"},
        "imported",
        "corrected notice",
    )
    await save_years(conn, [corrected], "second")
    loaded = {data.year: data for data in await load_years(conn)}
    assert loaded[2027] == corrected  # nothing of the first 2027 import survives
    assert loaded[2027].source_document == "corrected notice"
    assert loaded[2028] == other
    by = await conn.fetchval("SELECT imported_by FROM calendar_years WHERE year = 2027")
    assert by == "second"
    assert await conn.fetchval("SELECT count(*) FROM calendar_days WHERE year = 2027") == 3


async def test_failed_import_keeps_the_previous_data(conn: asyncpg.Connection) -> None:
    years = example_years()
    await save_years(conn, years, "first")
    # A day outside its year violates a constraint after the old rows were deleted.
    broken = YearData(2027, {date(2026, 5, 1): "错"}, {}, "imported")
    with pytest.raises(asyncpg.CheckViolationError):
        await save_years(conn, [broken], "second")
    assert await load_years(conn) == years


async def test_year_without_days_loads(conn: asyncpg.Connection) -> None:
    empty = YearData(2029, {}, {}, "imported")
    await save_years(conn, [empty], "tester")
    assert await load_years(conn) == [empty]


async def test_save_notifies_listeners(conn: asyncpg.Connection, database_url: str) -> None:
    listener = await asyncpg.connect(database_url)
    heard = asyncio.Event()
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *_: heard.set())
        await save_years(conn, example_years(), "tester")
        await asyncio.wait_for(heard.wait(), timeout=5)
    finally:
        await listener.close()


def _tousu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tousu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_import_makes_a_provisional_deadline_firm(child_env: dict[str, str]) -> None:
    before = _tousu(child_env, "calendar", "due", "2026-12-20T10:00+08:00", "15", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["provisional"] is True

    bad = _tousu(child_env, "calendar", "import", str(EXAMPLE_2027.with_name("missing.yaml")))
    assert bad.returncode != 0

    imported = _tousu(child_env, "calendar", "import", str(EXAMPLE_2027))
    assert imported.returncode == 0, imported.stderr

    after = _tousu(child_env, "calendar", "due", "2026-12-20T10:00+08:00", "15", "--json")
    assert after.returncode == 0, after.stderr
    result = json.loads(after.stdout)
    assert result["provisional"] is False
    assert result["deadline"].startswith("2027-01-")
