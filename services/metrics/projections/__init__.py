"""The metrics service's projections: ``case_view`` and ``kpi_facts``."""

from services.metrics.projections.base import Projection
from services.metrics.projections.case_view import CaseView
from services.metrics.projections.kpi_facts import KpiFacts

PROJECTIONS: tuple[Projection, ...] = (CaseView(), KpiFacts())


def by_name(name: str) -> Projection:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise KeyError(f"no projection {name!r} (there are: {known})")


__all__ = ["PROJECTIONS", "CaseView", "KpiFacts", "Projection", "by_name"]
