"""Who may see one case (the case itself: metrics' views, ``case_detail``)."""

from __future__ import annotations

import uuid

from tousu.services.gateway.auth import Principal, can_see_case
from tousu.services.gateway.complaints.replies import NO_SUCH_COMPLAINT
from tousu.services.gateway.problems import NotFound
from tousu.services.metrics.views import Case
from tousu.services.metrics.views import case_detail as load_case
from tousu.shared.store import EventStore

__all__ = ["Case", "load_case", "visible_case"]


async def visible_case(store: EventStore, complaint_id: uuid.UUID, principal: Principal) -> Case:
    """The case, or 404 when there is none or ``principal``'s department may not see it.

    The same 404 either way: a department must not learn that another
    department's case exists.
    """
    case = await load_case(store, complaint_id)
    if not case.state.exists or not can_see_case(principal, case.state.department):
        raise NotFound(NO_SUCH_COMPLAINT, code="complaint_not_found")
    return case
