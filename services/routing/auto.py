"""Automatic routing: which command, if any, an accepted or returned case gets.

Pure: given the case's events, the event that triggered us and the rules,
returns the command to execute. Each case state has one triggering event
(its acceptance, or its latest return); an older event delivered late finds
the case moved on and does nothing, so a case is never routed twice for one
state, and a redelivered event yields the same command id (harmless).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tousu.services.routing.facts import facts_from
from tousu.services.routing.matcher import match
from tousu.services.routing.model import RuleSet
from tousu.shared.application.catalogue import ROUTING
from tousu.shared.domain import commands as c
from tousu.shared.domain.state import ComplaintState, replay
from tousu.shared.domain.status import Status
from tousu.shared.events import Actor, Envelope, decode
from tousu.shared.events import types as ev

ACTOR = Actor(id="routing-rules", role="system")
# The events it routes on: its consumer's, in the catalogue.
TRIGGERS = ROUTING.consumers[0].event_types
# Raised when every eligible department returned the case before any
# arbitration: the fallback is out too, so a person has to choose.
MANUAL_ROUTING = "manual_routing"


def next_command(
    history: Sequence[Envelope], trigger: Envelope, rules: RuleSet
) -> c.RouteComplaint | c.RaiseSupervision | None:
    state = replay(list(history))
    if not _is_current(state, trigger):
        return None
    decision = match(rules, facts_from(state, history), exclude=set(state.returned_by))
    # occurred_at: deadlines count from when the case became routable, not
    # from when this service got round to it.
    if decision is None:
        return c.RaiseSupervision(
            kind=MANUAL_ROUTING,
            note="no department left to route to: returned by " + ", ".join(state.returned_by),
            actor=ACTOR,
            occurred_at=trigger.occurred_at,
            command_id=uuid.uuid5(trigger.event_id, "routing:manual"),
            causation_id=trigger.event_id,
            correlation_id=trigger.correlation_id,
        )
    return c.RouteComplaint(
        department=decision.department,
        rule_id=decision.rule_id,
        rule_version=decision.rule_version,
        requirements=decision.requirements,
        actor=ACTOR,
        occurred_at=trigger.occurred_at,
        command_id=uuid.uuid5(trigger.event_id, "routing:auto"),
        causation_id=trigger.event_id,
        correlation_id=trigger.correlation_id,
    )


def _is_current(state: ComplaintState, trigger: Envelope) -> bool:
    """Whether ``trigger`` is what left the case waiting to be routed now.

    After a second return the supervision office arbitrates and routes by
    hand (``needs_arbitration``); a case routed by hand meanwhile is no longer
    accepted or returned.
    """
    if state.needs_arbitration:
        return False
    data = decode(trigger)
    match data:
        case ev.ComplaintAccepted():
            return state.status == Status.ACCEPTED
        case ev.CaseReturned():
            return state.status == Status.RETURNED and data.return_count == state.return_count
    return False
