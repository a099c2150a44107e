"""``<complaint_terms>_counts``: how many complaints each service item, place
and keyword had, per week (from Monday) and per month of receipt in
Asia/Shanghai, and per department holding them.

Counting a month's keywords from the rows themselves reads every keyword of
five months of complaints (the month and its baseline): about 3 s at 50,000
complaints a month. Summed here, the same question reads one row per key and
period. It is kept in the transaction that rewrites a complaint's row (the
projection's write lock makes that one writer at a time): what the new row
counts differently from the old one is written, usually nothing; a rebuild
sums the whole table once, after the fill.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from asyncpg import Record

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


# (dim, grain, bucket, department, key): one count.
Key = tuple[str, str, date, str, str]
# The rows a step is about to replace, by connection and table, until it has
# written their successors (see :func:`subtract`).
_leaving: dict[tuple[int, str], Counter[Key]] = {}


def _select(table: str) -> str:
    return (
        "SELECT received_at, department, service_item, location, terms "
        f"FROM {table} WHERE complaint_id = any($1::uuid[])"
    )


def keys(rows: list[Record]) -> Counter[Key]:
    """The counts these rows make."""
    out: Counter[Key] = Counter()
    for row in rows:
        day = row["received_at"].astimezone(TZ).date()
        buckets = (("W", day - timedelta(days=day.weekday())), ("M", day.replace(day=1)))
        department = row["department"] or ""
        groups = [("term", term) for term in row["terms"]]
        if row["service_item"] is not None:
            groups.append(("service_item", row["service_item"]))
        if row["location"] is not None:
            groups.append(("location", row["location"]))
        for dim, key in groups:
            for grain, bucket in buckets:
                out[(dim, grain, bucket, department, key)] += 1
    return out


async def subtract(conn: Connection, table: str, ids: list[Any]) -> None:
    """Note these complaints' current rows (before they go): :func:`add`
    writes only what their successors change. Most events change nothing
    counted (only a receipt, a routing or an acceptance naming an item
    does), and then the counts are not written at all."""
    _leaving[(id(conn), table)] = keys(await conn.fetch(_select(table), ids))


async def add(conn: Connection, table: str, ids: list[Any]) -> None:
    """Put the difference these complaints' new rows make into the counts."""
    old = _leaving.pop((id(conn), table), Counter())
    new = keys(await conn.fetch(_select(table), ids))
    changes = [(k, new[k] - old[k]) for k in old.keys() | new.keys() if new[k] != old[k]]
    if not changes:
        return
    target = counts_table(table)
    columns = list(zip(*(k for k, _ in changes), strict=True))
    await conn.execute(
        f"""INSERT INTO {target} (dim, grain, bucket, department, key, n)
            SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::text[],
                                 $6::int[])
            ON CONFLICT (dim, grain, bucket, department, key)
            DO UPDATE SET n = {target}.n + excluded.n""",
        *(list(c) for c in columns),
        [n for _, n in changes],
    )


async def add_all(conn: Connection, table: str) -> None:
    """Sum the whole table into its (empty) counts."""
    await conn.execute(
        f"INSERT INTO {counts_table(table)} (dim, grain, bucket, department, key, n) "
        f"{_summed(table, 'true', 1)}"
    )
