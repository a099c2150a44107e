"""Loading one case from the event store, and who may see it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tousu.services.gateway.auth import Principal, can_see_case
from tousu.services.gateway.complaints.replies import NO_SUCH_COMPLAINT
from tousu.services.gateway.problems import NotFound
from tousu.shared.domain.state import ComplaintState, replay
from tousu.shared.events import Envelope, complaint_stream
from tousu.shared.store import EventStore


@dataclass(frozen=True)
class Case:
    state: ComplaintState
    history: list[Envelope]


async def load_case(store: EventStore, complaint_id: uuid.UUID) -> Case:
    history = await store.read_stream(complaint_stream(complaint_id))
    return Case(replay(history), history)


async def visible_case(store: EventStore, complaint_id: uuid.UUID, principal: Principal) -> Case:
    """The case, or 404 when there is none or ``principal``'s department may not see it.

    The same 404 either way: a department must not learn that another
    department's case exists.
    """
    case = await load_case(store, complaint_id)
    if not case.state.exists or not can_see_case(principal, case.state.department):
        raise NotFound(NO_SUCH_COMPLAINT, code="complaint_not_found")
    return case
