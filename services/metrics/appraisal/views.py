"""What the rest of tousu reads of the appraisal (考核): :func:`appraisal`
for a period as of an instant, by department or by person, with the scheme
version it used; the labels and number formats the CLI, the pages and the
workbook show it with."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from tousu.services.metrics.appraisal.compute import (
    DeductionLine,
    Line,
    Result,
    Unit,
    UnitScore,
    appraise,
)
from tousu.services.metrics.appraisal.explain import explain
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
from tousu.shared.calendar import TZ
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
    "appraisal_dict",
    "current_month",
    "deduction_label",
    "explain",
    "figure_label",
    "line_ratio",
    "line_value",
    "money",
    "parse_period",
    "report_appraisals",
    "unit_dict",
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


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def unit_dict(unit: UnitScore, lang: str = "zh") -> dict[str, Any]:
    """One unit's score and every line of its calculation, as plain data."""
    return {
        "unit": unit.key,
        "department": unit.department,
        "rank": unit.rank,
        "score": _num(unit.score),
        "received": unit.received,
        "lines": [
            {
                "figure": line.figure,
                "label": figure_label(line.figure, lang),
                "numerator": _num(line.ratio.numerator),
                "denominator": _num(line.ratio.denominator),
                "value": None if line.value is None else float(round(line.value, 4)),
                "weight": float(line.weight),
                "points": _num(line.points),
                **({"reviews": unit.reviews} if line.figure == "inspection_score" else {}),
            }
            for line in unit.lines
        ],
        "earned": float(unit.earned),
        "weight_with_values": float(unit.weight_with_values),
        "total_weight": float(unit.total_weight),
        "base": _num(unit.base),
        "rescaled": unit.rescaled,
        "deductions": [
            {
                "name": d.name,
                "label": deduction_label(d.name, lang),
                "count": d.count,
                "per_unit": float(d.per_unit),
                "cap": _num(d.cap),
                "capped": d.capped,
                "points": float(d.points),
            }
            for d in unit.deductions
        ],
        "deducted": float(unit.deducted),
    }


def appraisal_dict(result: Appraisal, lang: str = "zh") -> dict[str, Any]:
    """The whole appraisal as plain data (the API's answer, ``--format json``)."""
    version = result.version
    return {
        "period": result.period.name,
        "from": result.period.start.isoformat(),
        "to": result.period.end.isoformat(),
        "as_of": result.as_of.astimezone(TZ).isoformat(),
        "by": result.by,
        "scheme": {
            "version": version.version,
            "effective_from": version.effective_from.isoformat(),
            "source": result.source,
            "missing": version.missing,
            "supervision_kinds": list(version.supervision_kinds),
        },
        "units": [unit_dict(u, lang) for u in result.units],
        "commend": list(result.result.commend),
        "account": list(result.result.account),
    }


async def report_appraisals(
    pool: asyncpg.Pool, month: str, as_of: datetime, scheme: Scheme | Path | None = None
) -> list[Appraisal]:
    """The month's appraisal by department and by person, for the monthly
    workbook's 考核 sheet; none when no scheme version was in force then."""
    try:
        loaded = scheme if isinstance(scheme, Scheme) else Scheme.configured(scheme)
        return [await appraisal(pool, month, as_of, by, loaded) for by in ("department", "person")]
    except NoVersion:
        return []
