"""The appraisal's inputs per unit, read from what tousu already keeps: the
KPI figures (:class:`PgKpiSource` over ``kpi_facts``, grouped by department,
or by handler within each department), the late entries counted with them,
returns (退单) from the store, 督办 from ``supervision_items``, the quality
inspection's review scores and the overdue improvement items.

Everything but the last two is about the cohort of the figures: complaints
received in the period, as they stood at ``as_of`` (a fact counts from when
it happened). Review scores are those of the period's inspection draws, and
improvement items those due in the period (each part's own view says so).

A person is a handler within a department: a handler who held cases in two
departments is appraised in each (key ``handler@department``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import Decimal

import asyncpg

from tousu.services.metrics.appraisal.compute import Ratio, Unit, UnitInputs
from tousu.services.metrics.appraisal.period import Period
from tousu.services.metrics.appraisal.scheme import Deduction, Figure
from tousu.services.metrics.improvements.views import overdue_items
from tousu.services.metrics.inspection.views import review_scores
from tousu.services.metrics.kpi import KpiRow, Rate
from tousu.services.metrics.kpis import PgKpiSource
from tousu.shared.events.envelope import STREAM_PREFIX

# (department, handler): handler None for a department unit.
Who = tuple[str, str | None]

# Returns of the cohort's complaints made by as_of, by the returning
# department and the handler who returned.
_RETURNS = f"""
SELECT e.data->>'department' AS department, e.actor->>'id' AS handler, count(*) AS n
  FROM events e
  JOIN case_view v ON e.stream_id = '{STREAM_PREFIX}' || v.complaint_id::text
 WHERE e.type = 'CaseReturned'
   AND v.received_at >= $1 AND v.received_at < $2 AND e.occurred_at <= $3
 GROUP BY 1, 2
"""
# 督办 of the counted kinds on the cohort's complaints, raised by as_of, by
# the department and handler holding the case.
_SUPERVISION = """
SELECT s.department, s.handler, count(*) AS n
  FROM supervision_items s
  JOIN case_view v ON v.complaint_id = s.complaint_id
 WHERE s.kind = any($4::text[])
   AND v.received_at >= $1 AND v.received_at < $2 AND s.raised_at <= $3
   AND s.department IS NOT NULL
 GROUP BY 1, 2
"""

_RATES: dict[Figure, str] = {
    "acceptance_timeliness": "acceptance_timeliness",
    "feedback_timeliness": "feedback_timeliness",
    "closure_rate": "closure_rate",
    "satisfaction_rate": "satisfaction_rate",
}


def _ratio(rate: Rate) -> Ratio:
    return Ratio(Decimal(rate.numerator), Decimal(rate.denominator))


class _Unit:
    def __init__(self, who: Who) -> None:
        self.who = who
        self.received = 0
        self.figures: dict[Figure, Ratio] = {}
        self.score_sum = Decimal(0)
        self.reviews = 0
        self.counts: Counter[Deduction] = Counter()

    def kpis(self, row: KpiRow) -> None:
        self.received = row.received
        for figure, name in _RATES.items():
            self.figures[figure] = _ratio(getattr(row, name))
        self.counts["late_entry"] += row.late_entries

    def inputs(self, key: str) -> UnitInputs:
        figures = dict(self.figures)
        # Each review is out of 100: the ratio is the scores' sum over 100 a review.
        figures["inspection_score"] = Ratio(self.score_sum, Decimal(100 * self.reviews))
        return UnitInputs(
            key=key,
            department=self.who[0],
            received=self.received,
            figures=figures,
            reviews=self.reviews,
            counts=dict(self.counts),
        )


async def _kpi_rows(
    pool: asyncpg.Pool, period: Period, as_of: datetime, by: Unit
) -> list[tuple[Who, KpiRow]]:
    source = PgKpiSource(pool)
    departments = await source.kpis(
        start=period.start, end=period.end, as_of=as_of, group_by="department"
    )
    named = [row for row in departments if row.group is not None]
    if by == "department":
        return [((row.group, None), row) for row in named if row.group is not None]
    out: list[tuple[Who, KpiRow]] = []
    for dept in named:
        assert dept.group is not None
        rows = await source.kpis(
            start=period.start,
            end=period.end,
            as_of=as_of,
            group_by="handler",
            department=dept.group,
        )
        out += [((dept.group, row.group), row) for row in rows if row.group is not None]
    return out


def _who(by: Unit, department: str | None, handler: str | None) -> Who | None:
    if department is None:
        return None
    if by == "department":
        return (department, None)
    return None if handler is None else (department, handler)


async def gather(
    pool: asyncpg.Pool,
    period: Period,
    as_of: datetime,
    by: Unit,
    supervision_kinds: Collection[str],
) -> list[UnitInputs]:
    """Every unit with anything to count in ``period`` as of ``as_of``."""
    units: dict[Who, _Unit] = {}

    def unit(department: str | None, handler: str | None) -> _Unit | None:
        who = _who(by, department, handler)
        return None if who is None else units.setdefault(who, _Unit(who))

    for (department, handler), row in await _kpi_rows(pool, period, as_of, by):
        if (u := unit(department, handler)) is not None:
            u.kpis(row)
    start, end = period.start, period.end
    for r in await pool.fetch(_RETURNS, start, end, as_of):
        if (u := unit(r["department"], r["handler"])) is not None:
            u.counts["return"] += r["n"]
    kinds = list(supervision_kinds)
    for r in await pool.fetch(_SUPERVISION, start, end, as_of, kinds):
        if (u := unit(r["department"], r["handler"])) is not None:
            u.counts["supervision"] += r["n"]
    for review in await review_scores(pool, start, end, as_of):
        if (u := unit(review.department, review.handler)) is not None:
            u.score_sum += Decimal(str(review.score))
            u.reviews += 1
    for item in await overdue_items(pool, start, end, as_of):
        if (u := unit(item.department, item.owner)) is not None:
            u.counts["overdue_improvement"] += 1
    return [units[who].inputs(key) for who, key in _keys(units)]


def _keys(units: Iterable[Who]) -> list[tuple[Who, str]]:
    """Each unit's key: the department, or the handler (``handler@department``
    for a handler appraised in more than one department)."""
    whos = sorted(units, key=lambda w: (w[0], w[1] or ""))
    per_handler: defaultdict[str, int] = defaultdict(int)
    for _, handler in whos:
        if handler is not None:
            per_handler[handler] += 1
    out: list[tuple[Who, str]] = []
    for who in whos:
        department, handler = who
        if handler is None:
            out.append((who, department))
        else:
            out.append((who, handler if per_handler[handler] == 1 else f"{handler}@{department}"))
    return out
