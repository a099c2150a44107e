"""What the rest of tousu reads of the appraisal (考核): :func:`appraisal`
for a period as of an instant, by department or by person, with the scheme
version it used; the labels and number formats the CLI, the pages and the
workbook show it with."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import asyncpg

from tousu.services.metrics.appraisal.compute import (
    DeductionLine,
    Line,
    Result,
    Unit,
    UnitScore,
    appraise,
)
from tousu.services.metrics.appraisal.inputs import gather
from tousu.services.metrics.appraisal.labels import (
    DEDUCTION_LABELS,
    FIGURE_LABELS,
    deduction_label,
    figure_label,
    line_ratio,
    line_value,
    money,
)
from tousu.services.metrics.appraisal.period import Period, PeriodError, current_month, parse_period
from tousu.services.metrics.appraisal.scheme import (
    DEDUCTIONS,
    FIGURES,
    NoVersion,
    Scheme,
    Version,
)
from tousu.shared.datafiles import DataFileError

__all__ = [
    "DEDUCTIONS",
    "DEDUCTION_LABELS",
    "FIGURES",
    "FIGURE_LABELS",
    "Appraisal",
    "DataFileError",
    "DeductionLine",
    "Line",
    "NoVersion",
    "Period",
    "PeriodError",
    "Scheme",
    "Unit",
    "UnitScore",
    "Version",
    "appraisal",
    "current_month",
    "deduction_label",
    "figure_label",
    "line_ratio",
    "line_value",
    "money",
    "parse_period",
]


@dataclass(frozen=True)
class Appraisal:
    period: Period
    as_of: datetime
    by: Unit
    version: Version  # the scheme version in force for the period
    source: str  # the scheme file it came from
    result: Result

    @property
    def units(self) -> tuple[UnitScore, ...]:
        return self.result.units

    def confined_to(self, department: str) -> Appraisal:
        """Only ``department``'s units (its own row, or its people), ranks and
        lists as they stand among every unit."""
        keep = {u.key for u in self.result.units if u.department == department}
        result = Result(
            units=tuple(u for u in self.result.units if u.key in keep),
            commend=tuple(k for k in self.result.commend if k in keep),
            account=tuple(k for k in self.result.account if k in keep),
        )
        return replace(self, result=result)


async def appraisal(
    pool: asyncpg.Pool,
    period: Period | str,
    as_of: datetime,
    by: Unit = "department",
    scheme: Scheme | Path | None = None,
) -> Appraisal:
    """The appraisal of ``period`` (``2026-10``, ``2026-Q4``, ``2026``) as it
    stood at ``as_of``, under the scheme version in force on the period's
    first day (``scheme``: a loaded scheme or a scheme file; None: the
    packaged one). Raises PeriodError, NoVersion, DataFileError."""
    bounds = parse_period(period) if isinstance(period, str) else period
    if scheme is None or isinstance(scheme, Path):
        scheme = Scheme.configured(scheme)
    version = scheme.in_force(bounds.first_day)
    units = await gather(pool, bounds, as_of, by, version.supervision_kinds)
    return Appraisal(bounds, as_of, by, version, scheme.source, appraise(units, version))
