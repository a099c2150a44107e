"""Where the report's figures come from: anything that answers KPI queries."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tousu.services.metrics.kpi import GroupBy, KpiRow


class KpiSource(Protocol):
    """KPI rows for the complaints received in [start, end), as they stood at ``as_of``.

    ``group_by=None`` gives exactly one total row; otherwise rows are sorted by
    group key with the no-value group last, as ``tousu.services.metrics.kpi.kpis`` does.
    """

    async def kpis(
        self, *, start: datetime, end: datetime, as_of: datetime, group_by: GroupBy | None
    ) -> list[KpiRow]: ...
