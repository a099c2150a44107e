"""``<complaint_terms>_counts``: how many complaints each service item, place
and keyword had, per week (from Monday) and per month of receipt in
Asia/Shanghai, and per department holding them.

Counting a month's keywords from the rows themselves reads every keyword of
five months of complaints (the month and its baseline): about 3 s at 50,000
complaints a month. Summed here, the same question reads one row per key and
period. It is kept in the transaction that rewrites a complaint's row (the
projection's write lock makes that one writer at a time): the old row's
counts are taken out before it goes, the new row's put in after it is
written; a rebuild sums the whole table once, after the fill.
"""

from __future__ import annotations

from typing import Any

from tousu.shared.calendar import TZ
from tousu.shared.store.postgres import Connection

_ZONE = f"'{TZ.key}'"
# The grains: W for a week from Monday, M for a calendar month.
GRAINS = {"week": "W", "month": "M"}


def counts_table(table: str) -> str:
    return f"{table}_counts"


def create_sql(table: str) -> str:
    return f"""
CREATE TABLE {counts_table(table)} (
    dim        text    NOT NULL,  -- service_item, location or term
    grain      char(1) NOT NULL,  -- W or M
    bucket     date    NOT NULL,  -- the week's Monday or the month's first day
    department text    NOT NULL,  -- '' before routing
    key        text    NOT NULL,
    n          integer NOT NULL,
    PRIMARY KEY (dim, grain, bucket, department, key)
);
"""


def _keys(table: str, where: str) -> str:
    """(dim, key, received_at, department) of the rows ``where`` holds for."""
    return f"""
SELECT 'service_item' AS dim, service_item AS key, received_at, department
  FROM {table} WHERE {where} AND service_item IS NOT NULL
UNION ALL
SELECT 'location', location, received_at, department
  FROM {table} WHERE {where} AND location IS NOT NULL
UNION ALL
SELECT 'term', k.key, received_at, department
  FROM {table}, unnest(terms) AS k(key) WHERE {where}
"""


def _summed(table: str, where: str, sign: int) -> str:
    return "\nUNION ALL\n".join(
        f"""SELECT dim, '{grain}' AS grain,
       date_trunc('{trunc}', received_at AT TIME ZONE {_ZONE})::date AS bucket,
       coalesce(department, '') AS department, key, {sign} * count(*) AS n
FROM ({_keys(table, where)}) k
GROUP BY 1, 2, 3, 4, 5"""
        for trunc, grain in GRAINS.items()
    )


def _add_sql(table: str, sign: int) -> str:
    target = counts_table(table)
    return f"""
INSERT INTO {target} (dim, grain, bucket, department, key, n)
{_summed(table, "complaint_id = any($1::uuid[])", sign)}
ON CONFLICT (dim, grain, bucket, department, key) DO UPDATE SET n = {target}.n + excluded.n
"""


async def subtract(conn: Connection, table: str, ids: list[Any]) -> None:
    """Take these complaints' current rows out of the counts (before they go)."""
    await conn.execute(_add_sql(table, -1), ids)


async def add(conn: Connection, table: str, ids: list[Any]) -> None:
    """Put these complaints' rows into the counts (after they are written)."""
    await conn.execute(_add_sql(table, 1), ids)


async def add_all(conn: Connection, table: str) -> None:
    """Sum the whole table into its (empty) counts."""
    await conn.execute(
        f"INSERT INTO {counts_table(table)} (dim, grain, bucket, department, key, n) "
        f"{_summed(table, 'true', 1)}"
    )
