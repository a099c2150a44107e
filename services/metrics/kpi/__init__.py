"""Pure KPI core: per-complaint facts as of an instant, and the figures of
docs/design.md, "Metrics"."""

from tousu.services.metrics.kpi.compute import GroupBy, KpiRow, Rate, RateName, kpis, rank
from tousu.services.metrics.kpi.facts import ComplaintFacts, complaint_facts, fact_intervals

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
