"""What a department's system is told, and which department is told: pure.

The events of a case while a department holds it — routed to it, claimed,
returned by it, an extension decided, supervised (督办), a deadline
recalculated, reopened, closed — each with a summary of the case as it was at
that event (so a retry or a replay sends what was true then). No
complainant's contact is in it: the department's system reads those, logged,
through the staff API with its service account, as its staff would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tousu.shared.application.catalogue import FOLLOWUP
from tousu.shared.domain.state import replay
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX

# The events a department's system is told of: the catalogue's consumer
# entry says them once, for the consumer's subscription and for this.
(_ENTRY,) = [entry for entry in FOLLOWUP.consumers if entry.name == "webhooks"]
EVENT_TYPES: tuple[str, ...] = _ENTRY.event_types

# Ids of first deliveries derive from (department, event): the same on every
# redelivery of the event, so a receiver can deduplicate by it.
_NAMESPACE = uuid.UUID("4c1b7f0e-6d1a-4f59-9a43-2b8f0f8f9e61")


def delivery_id(department: str, event_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{department}:{event_id}")


def target(envelope: Envelope) -> str | None:
    """The department ``envelope`` is delivered to, if any.

    The holder after the event (the envelope's ``department``), except for a
    return: the department that gave the case back is told, not the desk it
    goes back to. Each event goes to one department at most, so another
    department's receiver never sees it.
    """
    if envelope.type not in EVENT_TYPES:
        return None
    if envelope.type in ("ComplaintRouted", "CaseReturned"):
        department = envelope.data.get("department")
        return str(department) if department else None
    return envelope.department


def case_summary(history: list[Envelope]) -> dict[str, Any]:
    """The case as the department's staff see it at the last event of ``history``."""
    state = replay(history)
    received = next((decode(e) for e in history if e.type == "ComplaintReceived"), None)
    details: dict[str, Any] = {}
    if isinstance(received, ev.ComplaintReceived):
        details = {
            "description": received.description,
            "location": received.location,
            "happened_at": _iso(received.happened_at),
            "demands": received.demands,
        }
    return {
        "complaint_id": history[-1].stream_id.removeprefix(STREAM_PREFIX),
        "tracking_no": state.tracking_no,
        "status": state.status.value if state.status is not None else None,
        "subject": state.subject,
        **details,
        "category": state.category,
        "subcategory": state.subcategory,
        "service_item": state.service_item,
        "channel": state.channel.value if state.channel is not None else None,
        "received_at": _iso(state.received_at),
        "department": state.department,
        "handler": state.handler,
        "round": state.round,
        "deadlines": {
            kind.value: deadline.model_dump(mode="json")
            for kind, deadline in sorted(state.deadlines.items())
        },
    }


def body(
    envelope: Envelope,
    history: list[Envelope],
    *,
    department: str,
    delivery: uuid.UUID,
    replayed: bool = False,
) -> str:
    """The JSON body for ``envelope`` (``history``: its stream up to it and maybe beyond)."""
    upto = [e for e in history if e.version <= envelope.version]
    document = {
        "id": str(delivery),
        "department": department,
        "replay": replayed,
        "event": envelope.model_dump(mode="json"),
        "case": case_summary(upto),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
