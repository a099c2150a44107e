"""``<root>.cmd.metrics.case``: one case for a department's own system
(``tousu.shared.application.case_read``), read from the complaint's history as
the case pages read it, so it never lags behind a command just answered."""

from __future__ import annotations

from typing import Any

from tousu.services.metrics.views import case_detail
from tousu.shared.application.case_read import CaseFacts, CaseRequest, case_admission
from tousu.shared.application.catalogue import METRICS
from tousu.shared.application.replies import Request
from tousu.shared.domain.errors import NotFound
from tousu.shared.events import types as ev
from tousu.shared.store import EventStore

_DEPARTMENT_ROLES = ("handler", "dept_head")


def request(store: EventStore) -> Request[CaseRequest]:
    async def handle(asked: CaseRequest) -> dict[str, Any]:
        case = await case_detail(store, asked.complaint_id)
        state = case.state
        actor = asked.actor
        confined = actor is not None and actor.role in _DEPARTMENT_ROLES
        if not state.exists or (
            confined and (actor is None or state.department != actor.department)
        ):
            # As the staff API: another department's case is not said to exist.
            raise NotFound("no such complaint")
        received: dict[str, Any] = {}
        requirements = None
        for envelope in case.history:
            if envelope.type == ev.ComplaintReceived.event_type() and not received:
                received = envelope.data
            elif envelope.type == ev.ComplaintRouted.event_type():
                requirements = envelope.data.get("requirements")
        facts = CaseFacts(
            complaint_id=asked.complaint_id,
            tracking_no=state.tracking_no,
            status=state.status.value if state.status else None,
            department=state.department,
            handler=state.handler,
            channel=state.channel.value if state.channel else None,
            category=state.category,
            subcategory=state.subcategory,
            service_item=state.service_item,
            subject=state.subject,
            description=received.get("description"),
            location=received.get("location"),
            happened_at=received.get("happened_at"),
            people_involved=received.get("people_involved"),
            demands=received.get("demands"),
            received_at=state.received_at,
            accepted_at=state.accepted_at,
            requirements=requirements,
            round=state.round,
            deadlines={kind.value: d.due_at for kind, d in state.deadlines.items()},
            pending=[kind.value for kind in state.pending_deadlines],
            attachments=received.get("attachments") or [],
            version=state.version,
        )
        return facts.model_dump(mode="json")

    return Request(
        CaseRequest.model_validate,
        handle,
        failed="the case could not be read",
        title=METRICS.requests["case"].title,
        context=lambda asked: {"complaint_id": str(asked.complaint_id)},
        admit=case_admission,
    )
