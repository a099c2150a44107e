"""Imported calendar years in PostgreSQL (tables from migration 0002_calendar)."""

from __future__ import annotations

from datetime import date

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.calendar.workdays import SOURCE_IMPORTED, YearData

NOTIFY_CHANNEL = "tousu_calendar"

_HOLIDAY = "holiday"
_MAKEUP = "makeup_workday"


async def save_years(conn: asyncpg.Connection, years: list[YearData], imported_by: str) -> None:
    """Store ``years``, each replacing whatever was imported for that year before."""
    if not years:
        return
    day_rows: list[tuple[date, int, str, str]] = []
    for data in years:
        day_rows += [(d, data.year, _HOLIDAY, name) for d, name in data.holidays.items()]
        day_rows += [(d, data.year, _MAKEUP, name) for d, name in data.makeup_workdays.items()]
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM calendar_years WHERE year = ANY($1::integer[])",
            [data.year for data in years],
        )
        await conn.executemany(
            "INSERT INTO calendar_years (year, source_document, imported_by) VALUES ($1, $2, $3)",
            [(data.year, data.source_document, imported_by) for data in years],
        )
        await conn.executemany(
            "INSERT INTO calendar_days (day, year, kind, name) VALUES ($1, $2, $3, $4)",
            day_rows,
        )
        # Sent inside the transaction: PostgreSQL delivers it on commit only,
        # so services never reload for an import that was rolled back.
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


async def load_years(
    conn: asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool,
) -> list[YearData]:
    """Every imported year, in year order."""
    # One statement, so one snapshot: a concurrent import is seen whole or not at all.
    rows = await conn.fetch(
        """
        SELECT y.year, y.source_document, d.day, d.kind, d.name
        FROM calendar_years y LEFT JOIN calendar_days d USING (year)
        ORDER BY y.year, d.day
        """
    )
    years: dict[int, YearData] = {}
    for row in rows:
        data = years.get(row["year"])
        if data is None:
            data = YearData(
                year=row["year"],
                holidays={},
                makeup_workdays={},
                source=SOURCE_IMPORTED,
                source_document=row["source_document"],
            )
            years[data.year] = data
        if row["day"] is not None:
            target = data.holidays if row["kind"] == _HOLIDAY else data.makeup_workdays
            target[row["day"]] = row["name"]
    return list(years.values())
