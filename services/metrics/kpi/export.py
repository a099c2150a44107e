"""KPI rows as plain data: JSON objects, CSV lines, and the column names people read."""

from __future__ import annotations

from typing import Any

# The one CSV guard, re-exported for the CSV writers that import it from here.
from tousu.services.metrics.cells import inert as inert
from tousu.services.metrics.kpi.compute import KpiRow, Rate

RATES = ("acceptance_timeliness", "feedback_timeliness", "closure_rate", "satisfaction_rate")
COUNTS = ("received", "accepted", "rejected", "fed_back", "closed", "reopened", "overdue_now")

# (zh, en) for each figure, in the vocabulary of the policy.
LABELS: dict[str, tuple[str, str]] = {
    "group": ("分组", "group"),
    "received": ("投诉量", "received"),
    "accepted": ("受理量", "accepted"),
    "rejected": ("不予受理", "rejected"),
    "fed_back": ("已反馈", "fed back"),
    "closed": ("已办结", "closed"),
    "reopened": ("重办", "reopened"),
    "overdue_now": ("当前超期", "overdue now"),
    "acceptance_timeliness": ("受理及时率", "acceptance timeliness"),
    "feedback_timeliness": ("及时率", "feedback timeliness"),
    "closure_rate": ("办结率", "closure rate"),
    "satisfaction_rate": ("满意率", "satisfaction rate"),
    "avg_handling_working_days": ("平均办理工作日", "avg handling working days"),
    "late_entries": ("补录", "late entries"),
    "imported": ("导入", "imported"),
}


def label(name: str, lang: str = "zh") -> str:
    zh, en = LABELS[name]
    return en if lang.startswith("en") else zh


def rate_dict(rate: Rate) -> dict[str, Any]:
    return {"numerator": rate.numerator, "denominator": rate.denominator, "value": rate.value}


def row_dict(row: KpiRow) -> dict[str, Any]:
    out: dict[str, Any] = {"group": row.group}
    out |= {name: getattr(row, name) for name in COUNTS}
    out |= {name: rate_dict(getattr(row, name)) for name in RATES}
    out["avg_handling_working_days"] = row.avg_handling_working_days
    out["late_entries"] = row.late_entries
    out["imported"] = row.imported
    return out


def csv_header() -> list[str]:
    rates = [f"{r}_{part}" for r in RATES for part in ("numerator", "denominator", "value")]
    return ["group", *COUNTS, *rates, "avg_handling_working_days", "late_entries", "imported"]


def csv_row(row: KpiRow) -> list[str]:
    cells = [inert(row.group), *(str(getattr(row, n)) for n in COUNTS)]
    for name in RATES:
        rate: Rate = getattr(row, name)
        value = "" if rate.value is None else f"{rate.value:.4f}"
        cells += [str(rate.numerator), str(rate.denominator), value]
    avg = row.avg_handling_working_days
    cells.append("" if avg is None else f"{avg:.2f}")
    cells.append(str(row.late_entries))
    cells.append(str(row.imported))
    return cells


def percent(rate: Rate) -> str:
    """``92.3% (12/13)``, or ``—`` when nothing counts yet."""
    if rate.value is None:
        return "—"
    return f"{rate.value:.1%} ({rate.numerator}/{rate.denominator})"
