"""What the rules look at, gathered from a complaint's events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tousu.shared.domain.state import ComplaintState
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev


@dataclass(frozen=True)
class RoutingFacts:
    subject: str = ""
    description: str = ""
    location: str | None = None
    category: str | None = None
    subcategory: str | None = None
    service_item: str | None = None


def facts_from(state: ComplaintState, history: Iterable[Envelope]) -> RoutingFacts:
    """Classification as accepted (the state); text and place as received.

    ComplaintState keeps neither description nor location, so they are read
    from the ComplaintReceived event itself.
    """
    received = next(
        (decode(e) for e in history if e.type == ev.ComplaintReceived.event_type()), None
    )
    assert received is None or isinstance(received, ev.ComplaintReceived)
    return RoutingFacts(
        subject=state.subject or "",
        description=received.description if received else "",
        location=received.location if received else None,
        category=state.category,
        subcategory=state.subcategory,
        service_item=state.service_item,
    )
