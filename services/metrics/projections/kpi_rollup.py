"""``<kpi_facts>_rollup``: the KPI figures' changes, summed by when they happen.

A year's cohort as of T is about a million complaints in force; summing
their facts rows takes half a second however they are indexed. Instead each
facts row is written as its changes (:func:`changes_sql`): its fixed figures
come in at ``valid_from`` and go at ``valid_to``, and a deadline-counted
figure comes in just after its deadline. The figures as of T are the sum of
every change up to T, which this table keeps already summed per received
month, grouping key and

- ``M``: calendar month of the change (every change);
- ``D``: day of the change, for changes at a row's start or end;
- ``H``: hour of the change, for the same;
- ``I``: the instant itself, for changes at a deadline (deadlines end a day,
  so these are few distinct instants).

So a query as of T reads the months before T's month, the days of T's month
before T's day, the hours of T's day before T's hour, the deadline instants
of T's month up to T, and from ``kpi_facts`` itself only the rows starting
or ending in T's hour
(:mod:`tousu.services.metrics.kpis`). Each key is kept for the department too, so a
department's own figures come from here as well.

The table is kept in the transaction that rewrites the facts rows (the
projection's write lock makes that one writer at a time): a complaint's old
rows are subtracted before they are deleted and its new ones added after
they are written. A rebuild sums the whole table once, after the fill.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import asyncpg

from tousu.services.metrics.kpi_sql import FIGURES, FIXED, FROM_INSTANT
from tousu.shared.calendar import TZ
from tousu.shared.store.postgres import Connection

# The grouping keys a query can ask for, besides department and month.
KEYED = ("handler", "channel", "category")
_ZONE = f"'{TZ.key}'"


def rollup_table(table: str) -> str:
    return f"{table}_rollup"


def create_sql(table: str) -> str:
    figures = ",\n    ".join(f"{name} bigint NOT NULL" for name in FIGURES)
    return f"""
CREATE TABLE {rollup_table(table)} (
    dim        text        NOT NULL,  -- 'department', or one of {", ".join(KEYED)}
    month      text        NOT NULL,  -- received
    grain      char(1)     NOT NULL,  -- M, D, H or I (see this module)
    bucket     timestamptz NOT NULL,
    department text,
    key        text,                  -- the dim's value; NULL for dim 'department'
    {figures},
    UNIQUE NULLS NOT DISTINCT (dim, month, grain, bucket, department, key)
);
"""


def changes_sql(source: str) -> str:
    """The changes of the facts rows ``source`` (a FROM item of kpi_facts
    rows): kind ('row' or 'due'), at, month, department, handler, channel,
    category and every figure's change."""
    inner = [f"({sql}) AS f_{name}" for name, sql in FIXED.items()]
    inner += [f"({sql}) AS s_{name}" for name, sql in FROM_INSTANT.items()]
    keys = "month, department, handler, channel, category"
    comes = [f"f_{name}" for name in FIXED]
    comes += [f"coalesce(s_{name} = valid_from, false)::int" for name in FROM_INSTANT]
    goes = [f"-f_{name}" for name in FIXED]
    goes += [f"-coalesce(s_{name} < valid_to, false)::int" for name in FROM_INSTANT]
    points = [
        f"SELECT 'row' AS kind, valid_from AS at, {keys}, {', '.join(comes)} FROM facts",
        f"SELECT 'row', valid_to, {keys}, {', '.join(goes)} FROM facts WHERE valid_to IS NOT NULL",
    ]
    for name in FROM_INSTANT:
        only = ["1" if other == name else "0" for other in FROM_INSTANT]
        points.append(
            f"SELECT 'due', s_{name}, {keys}, {', '.join(['0'] * len(FIXED) + only)} FROM facts"
            f" WHERE s_{name} > valid_from AND (valid_to IS NULL OR s_{name} < valid_to)"
        )
    # One statement per kind of point over the rows computed once: a lateral
    # VALUES of the points cost PostgreSQL about 40 µs a row.
    union = "\n    UNION ALL ".join(points)
    named = ", ".join(("kind", "at", *keys.split(", "), *FIGURES))
    return f"""
WITH facts AS MATERIALIZED (
    SELECT {keys}, valid_from, valid_to, {", ".join(inner)}
    FROM {source}
)
SELECT * FROM ({union}) c({named})
"""


_ROLLUP_COLUMNS = ("dim", "month", "grain", "bucket", "department", "key", *FIGURES)


def _summed_sql(source: str, sign: int) -> str:
    """``sign`` × the changes of the rows ``source``, summed as rollup rows."""
    summed = ", ".join(f"{sign} * sum({name})" for name in FIGURES)
    fine_sums = ", ".join(f"sum({name}) AS {name}" for name in FIGURES)
    keys = ", ".join(f"('{dim}', f.{dim})" for dim in KEYED)
    # Summed at the finest grain first, so that each change is spread over
    # the grains and keys once per group, not once per facts row.
    return f"""
WITH changes AS ({changes_sql(source)}),
fine AS (
    SELECT kind,
           -- Shanghai's offset is whole hours: its hours are UTC's.
           CASE kind WHEN 'row' THEN date_trunc('hour', at) ELSE at END AS bucket,
           month, department, handler, channel, category, {fine_sums}
    FROM changes
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT d.dim, f.month, g.grain, g.bucket, f.department, d.key, {summed}
FROM fine f
CROSS JOIN LATERAL (VALUES
    ('M', date_trunc('month', f.bucket, {_ZONE})),
    (CASE f.kind WHEN 'row' THEN 'D' ELSE 'I' END,
     CASE f.kind WHEN 'row' THEN date_trunc('day', f.bucket, {_ZONE}) ELSE f.bucket END),
    (CASE f.kind WHEN 'row' THEN 'H' END, f.bucket)
) g(grain, bucket)
CROSS JOIN LATERAL (VALUES ('department', NULL::text), {keys}) d(dim, key)
WHERE g.grain IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
"""


def _add_sql(table: str, sign: int) -> str:
    """Add ``sign`` × the changes of the complaints $1's rows to the rollup."""
    source = f"{table} WHERE complaint_id = any($1::uuid[])"
    update = ", ".join(f"{name} = r.{name} + excluded.{name}" for name in FIGURES)
    return f"""
INSERT INTO {rollup_table(table)} AS r ({", ".join(_ROLLUP_COLUMNS)})
{_summed_sql(source, sign)}
ON CONFLICT (dim, month, grain, bucket, department, key) DO UPDATE SET {update}
"""


async def subtract(conn: Connection, table: str, ids: list[Any]) -> None:
    """Take these complaints' current rows out of the rollup (before they go)."""
    await conn.execute(_add_sql(table, -1), ids)


async def add(conn: Connection, table: str, ids: list[Any]) -> None:
    """Put these complaints' rows into the rollup (after they are written)."""
    await conn.execute(_add_sql(table, 1), ids)


async def add_all(conn: Connection, table: str, dsn: str | None = None) -> None:
    """Sum the whole facts table into its (empty) rollup; given ``dsn``,
    the even received months on a second connection meanwhile."""
    # A rollup row's key holds its received month, so the two halves' sums
    # are disjoint: each is written as it is, with no sum of sums. Odd and
    # even months alternate, so the halves are about the same size.
    if dsn is None:
        sums = [await _summed_out(conn, table, "true")]
    else:
        second = await asyncpg.connect(dsn)
        try:
            sums = list(
                await asyncio.gather(
                    _summed_out(conn, table, "right(month, 2)::int % 2 = 1"),
                    _summed_out(second, table, "right(month, 2)::int % 2 = 0"),
                )
            )
        finally:
            await second.close()
    for out in sums:
        out.seek(0)
        await conn.copy_to_table(rollup_table(table), source=out, columns=_ROLLUP_COLUMNS)


async def _summed_out(conn: Connection, table: str, where: str) -> io.BytesIO:
    """The rollup rows of the facts rows ``where`` holds for, as COPY text."""
    # Summed in a read-only transaction (a writing one this long would hold
    # back every reader of read_all on the server, see tousu.shared.store.postgres),
    # with memory enough to hash rather than sort on disk. Copied out and in
    # as text: decoding the rows into Python and back cost a third of it.
    out = io.BytesIO()
    source = f"{table} WHERE {where}"
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL work_mem = '512MB'")
        await conn.copy_from_query(_summed_sql(source, 1), output=out)
    return out
