"""The metrics service's projections: ``case_view``, ``kpi_facts``,
``supervision_items`` and ``complaint_terms``."""

from tousu.services.metrics.projections.base import Projection
from tousu.services.metrics.projections.case_view import CaseView
from tousu.services.metrics.projections.complaint_terms import ComplaintTerms
from tousu.services.metrics.projections.kpi_facts import KpiFacts
from tousu.services.metrics.projections.supervision_items import SupervisionItems

PROJECTIONS: tuple[Projection, ...] = (
    CaseView(),
    KpiFacts(),
    SupervisionItems(),
    ComplaintTerms(),
)


def by_name(name: str) -> Projection:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise KeyError(f"no projection {name!r} (there are: {known})")


__all__ = [
    "PROJECTIONS",
    "CaseView",
    "ComplaintTerms",
    "KpiFacts",
    "Projection",
    "SupervisionItems",
    "by_name",
]
