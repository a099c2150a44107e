"""Pure KPI core: per-complaint facts as of an instant, and the DESIGN "Metrics" figures."""

from shared.kpi.compute import GroupBy, KpiRow, Rate, RateName, kpis, rank
from shared.kpi.facts import ComplaintFacts, complaint_facts, fact_intervals

__all__ = [
    "ComplaintFacts",
    "GroupBy",
    "KpiRow",
    "Rate",
    "RateName",
    "complaint_facts",
    "fact_intervals",
    "kpis",
    "rank",
]
