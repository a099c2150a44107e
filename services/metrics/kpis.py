"""The KPIs of docs/design.md, "Metrics", from the ``kpi_facts`` projection.

The same definitions as :mod:`tousu.services.metrics.kpi.compute` (which folds events in
memory, and against which this is tested), in SQL (:mod:`.kpi_sql`). The
whole received months of a cohort are read from the rollup of the figures'
changes (:mod:`.projections.kpi_rollup`), so a year costs about what a month
does; a cohort's part-months are summed from the facts rows in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from tousu.services.metrics.kpi import GroupBy, KpiRow, Rate
from tousu.services.metrics.kpi.compute import GROUPINGS
from tousu.services.metrics.kpi.period import month_start, next_month
from tousu.services.metrics.kpi_sql import FIGURES, sums, sums_as_of
from tousu.services.metrics.projections.kpi_rollup import changes_sql, rollup_table
from tousu.shared.calendar import TZ

_FACTS = "kpi_facts"
_ROLLUP = rollup_table(_FACTS)

# The facts in force at T ($3), for the cohort received in [$1, $2).
_IN_FORCE = f"""
FROM {_FACTS}
WHERE received_at >= $1 AND received_at < $2 AND received_at <= $3
  AND valid_from <= $3 AND (valid_to IS NULL OR valid_to > $3)
  AND ($4::text IS NULL OR department = $4)
"""
# When T is after every recorded fact, only the current rows can be in force.
_IN_FORCE_NOW = f"""
FROM {_FACTS}
WHERE received_at >= $1 AND received_at < $2 AND received_at <= $3
  AND valid_to IS NULL AND valid_from <= $3
  AND ($4::text IS NULL OR department = $4)
"""

# The rows of the cohort's months ($2) that start or end in T's hour, from
# its start ($5) to T ($6). A row ends where the complaint's next row
# starts, so the rows ending are found from the rows starting.
_THIS_HOURS_ROWS = f"""(
    SELECT * FROM {_FACTS}
    WHERE month = any($2::text[]) AND valid_from >= $5 AND valid_from <= $6
    UNION ALL
    SELECT ended.* FROM {_FACTS} began
    JOIN {_FACTS} ended
      ON ended.complaint_id = began.complaint_id AND ended.valid_to = began.valid_from
    WHERE began.month = any($2::text[]) AND began.valid_from >= $5 AND began.valid_from <= $6
      AND ended.valid_from < $5
) this_hour"""

# A group's key in the rollup: (dim, column) for each grouping.
_ROLLUP_KEY: Mapping[GroupBy | None, tuple[str, str]] = {
    None: ("department", "NULL::text"),
    "department": ("department", "department"),
    "month": ("department", "month"),
    "handler": ("handler", "key"),
    "channel": ("channel", "key"),
    "category": ("category", "key"),
}

Figures = dict[str | None, list[int]]


def _rollup_sql(group_by: GroupBy | None) -> str:
    column = _ROLLUP_KEY[group_by][1]
    where = "dim = $1 AND month = any($2::text[]) AND ($3::text IS NULL OR department = $3)"
    figures = ", ".join(FIGURES)
    grains = (
        "grain = 'M' AND bucket < $4",  # the months before T's
        "grain = 'D' AND bucket >= $4 AND bucket < $7",  # the days of T's month before T's
        "grain = 'H' AND bucket >= $7 AND bucket < $5",  # the hours of T's day before T's
        "grain = 'I' AND bucket >= $4 AND bucket <= $6",  # deadlines passed in T's month
    )
    parts = [
        f"SELECT {column} AS grp, {figures} FROM {_ROLLUP} WHERE {where} AND {g}" for g in grains
    ]
    grp = "NULL::text" if group_by is None else group_by
    parts.append(
        f"SELECT {grp} AS grp, {figures} FROM ({changes_sql(_THIS_HOURS_ROWS)}) c "
        "WHERE kind = 'row' AND at >= $5 AND at <= $6 AND ($3::text IS NULL OR department = $3)"
    )
    union = "\nUNION ALL\n".join(parts)
    return f"SELECT grp, {sums()} FROM ({union}) parts GROUP BY grp"


def _cohort_parts(
    start: datetime, end: datetime
) -> tuple[list[str], list[tuple[datetime, datetime]]]:
    """[start, end) as its whole received months ('YYYY-MM') and the
    ranges of part-months left over."""
    local = start.astimezone(TZ)
    first = month_start(local.strftime("%Y-%m"))
    if first < start:
        first = next_month(first)
    months: list[str] = []
    month = first
    while next_month(month) <= end:
        months.append(month.strftime("%Y-%m"))
        month = next_month(month)
    if not months:
        return [], [(start, end)]
    parts = [(start, first)] if start < first else []
    if month < end:
        parts.append((month, end))
    return months, parts


def _add(into: Figures, records: Sequence[asyncpg.Record]) -> None:
    for record in records:
        figures = into.setdefault(record["grp"], [0] * len(FIGURES))
        for i, name in enumerate(FIGURES):
            figures[i] += record[name] or 0


def _row(group: str | None, values: list[int]) -> KpiRow:
    f = dict(zip(FIGURES, values, strict=True))
    return KpiRow(
        group=group,
        received=f["received"],
        accepted=f["accepted"],
        rejected=f["rejected"],
        fed_back=f["fed_back"],
        closed=f["closed"],
        reopened=f["reopened"],
        overdue_now=f["overdue_now"],
        acceptance_timeliness=Rate(f["at_num"], f["at_den"]),
        feedback_timeliness=Rate(f["ft_num"], f["ft_den"]),
        closure_rate=Rate(f["cr_num"], f["cr_den"]),
        satisfaction_rate=Rate(f["sr_num"], f["sr_den"]),
        avg_handling_working_days=f["wd_sum"] / f["wd_n"] if f["wd_n"] else None,
        late_entries=f["late_entries"],
        with_evidence=f["with_evidence"],
        imported=f["imported"],
    )


class PgKpiSource:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def kpis(
        self,
        *,
        start: datetime,
        end: datetime,
        as_of: datetime,
        group_by: GroupBy | None,
        department: str | None = None,
    ) -> list[KpiRow]:
        """KPI rows for complaints received in [start, end), as they stood at
        ``as_of``; sorted by group, the no-value group last, and exactly one
        row for ``group_by=None``, even for an empty cohort. ``department``
        confines the cohort to what that department held at ``as_of``."""
        if group_by is not None and group_by not in GROUPINGS:
            raise ValueError(f"cannot group by {group_by!r}")
        months, parts = _cohort_parts(start, end)
        figures: Figures = {}
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            # The best plan depends on the bounds: a plan made for any bounds
            # (which PostgreSQL picks for a statement prepared and run five
            # times) scanned the whole table. Compiling the aggregate (JIT)
            # cost more than it saved.
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
            if parts:
                latest = await conn.fetchval(f"SELECT max(valid_from) FROM {_FACTS}")
                cohort = _IN_FORCE_NOW if latest is None or as_of >= latest else _IN_FORCE
                grp = "NULL::text" if group_by is None else group_by
                # fetch, not fetchrow: PostgreSQL plans no parallel workers for
                # a statement run with a row limit, as fetchrow runs it.
                statement = f"SELECT {grp} AS grp, {sums_as_of('$3')} {cohort} GROUP BY 1"
                for begin, finish in parts:
                    _add(figures, await conn.fetch(statement, begin, finish, as_of, department))
            if months:
                local = as_of.astimezone(TZ)
                hour = local.replace(minute=0, second=0, microsecond=0)
                records = await conn.fetch(
                    _rollup_sql(group_by),
                    _ROLLUP_KEY[group_by][0],
                    months,
                    department,
                    month_start(local.strftime("%Y-%m")),
                    hour,
                    as_of,
                    hour.replace(hour=0),
                )
                _add(figures, records)
        if group_by is None:
            return [_row(None, figures.get(None, [0] * len(FIGURES)))]
        # A group with nothing in force (its complaints all moved on) is none.
        kept = {k: v for k, v in figures.items() if v[0]}
        order = sorted(kept, key=lambda k: (k is None, k or ""))
        return [_row(k, kept[k]) for k in order]
