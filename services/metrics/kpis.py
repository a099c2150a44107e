"""DESIGN's KPIs from the ``kpi_facts`` projection, in one aggregate query.

The same definitions as :mod:`shared.kpi.compute` (which folds events in
memory, and against which this is tested), written as SQL over the facts in
force at ``as_of``.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from shared.kpi import GroupBy, KpiRow, Rate
from shared.kpi.compute import GROUPINGS

# The facts in force at T ($3), for the cohort received in [$1, $2).
_COHORT = """
FROM kpi_facts
WHERE received_at >= $1 AND received_at < $2 AND received_at <= $3
  AND valid_from <= $3 AND (valid_to IS NULL OR valid_to > $3)
  AND ($4::text IS NULL OR department = $4)
"""
# When T is after every recorded fact, only the current rows can be in force.
_COHORT_NOW = """
FROM kpi_facts
WHERE received_at >= $1 AND received_at < $2 AND received_at <= $3
  AND valid_to IS NULL AND valid_from <= $3
  AND ($4::text IS NULL OR department = $4)
"""

_FIGURES = """
    count(*) AS received,
    count(*) FILTER (WHERE accepted) AS accepted,
    count(*) FILTER (WHERE rejected) AS rejected,
    count(*) FILTER (WHERE first_feedback_at IS NOT NULL) AS fed_back,
    count(*) FILTER (WHERE closed) AS closed,
    count(*) FILTER (WHERE reopen_count > 0) AS reopened,
    count(*) FILTER (WHERE (decided_at IS NULL AND acceptance_due < $3)
                        OR (accepted AND NOT latest_round_fed_back
                            AND current_feedback_due < $3)) AS overdue_now,
    count(*) FILTER (WHERE decided_at IS NOT NULL
                       AND (acceptance_due IS NULL OR decided_at <= acceptance_due)) AS at_num,
    count(*) FILTER (WHERE decided_at IS NOT NULL OR acceptance_due < $3) AS at_den,
    count(*) FILTER (WHERE accepted AND first_feedback_at <= first_feedback_due) AS ft_num,
    count(*) FILTER (WHERE accepted AND (first_feedback_at IS NOT NULL
                                         OR first_feedback_due < $3)) AS ft_den,
    count(*) FILTER (WHERE accepted AND latest_round_fed_back
                       AND NOT reopened_after_feedback) AS cr_num,
    count(*) FILTER (WHERE accepted AND (first_feedback_at IS NOT NULL
                                         OR current_feedback_due < $3)) AS cr_den,
    count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied')) AS sr_num,
    count(*) FILTER (WHERE satisfaction IS NOT NULL) AS sr_den,
    avg(handling_working_days) FILTER (WHERE accepted) AS avg_wd
"""


def _row(group: str | None, r: asyncpg.Record) -> KpiRow:
    return KpiRow(
        group=group,
        received=r["received"],
        accepted=r["accepted"],
        rejected=r["rejected"],
        fed_back=r["fed_back"],
        closed=r["closed"],
        reopened=r["reopened"],
        overdue_now=r["overdue_now"],
        acceptance_timeliness=Rate(r["at_num"], r["at_den"]),
        feedback_timeliness=Rate(r["ft_num"], r["ft_den"]),
        closure_rate=Rate(r["cr_num"], r["cr_den"]),
        satisfaction_rate=Rate(r["sr_num"], r["sr_den"]),
        avg_handling_working_days=float(r["avg_wd"]) if r["avg_wd"] is not None else None,
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
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            # The best plan depends on the cohort's bounds: a plan made for any
            # bounds (which PostgreSQL picks for a statement prepared and run
            # five times) took 1.3 s instead of 0.45 s on a year of a million
            # complaints. Compiling the aggregate (JIT) cost more than it saved.
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
            latest = await conn.fetchval("SELECT max(valid_from) FROM kpi_facts")
            args = (start, end, as_of, department)
            cohort = _COHORT_NOW if latest is None or as_of >= latest else _COHORT
            if group_by is None:
                # fetch, not fetchrow: PostgreSQL plans no parallel workers for
                # a statement run with a row limit, as fetchrow runs it.
                (record,) = await conn.fetch(f"SELECT {_FIGURES} {cohort}", *args)
                return [_row(None, record)]
            records = await conn.fetch(
                f"SELECT {group_by} AS grp, {_FIGURES} {cohort} "
                # Code-point order, as the in-memory computation sorts.
                f'GROUP BY {group_by} ORDER BY {group_by} COLLATE "C" NULLS LAST',
                *args,
            )
        return [_row(r["grp"], r) for r in records]
