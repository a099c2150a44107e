"""Improvement items (整改跟踪), decided: a result feedback's 改进措施 split
into items, and the owning department's closing of one with its evidence.

Pure: the time and the calendar come from the caller; nothing is stored on a
refusal. An item lives on its own stream ``improvement-<id>``, whose id is
derived from the complaint, the round and the item's place, so the same
feedback always yields the same items (a redelivery appends nothing new).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain.errors import DomainError, Forbidden, InvalidCommand, NotFound
from tousu.shared.domain.inputs import Instant, Text
from tousu.shared.events import Actor, Envelope, NewEvent, new_event
from tousu.shared.events.quality import (
    IMPROVEMENT_PREFIX,
    ImprovementItemClosed,
    ImprovementItemOpened,
)

# Who closes an item: a person of the owning department, or its own system
# (which acts as one of its handlers, shared/domain/actors.py).
CLOSERS = frozenset({"handler", "dept_head"})
# Most items one feedback makes; the rest of a longer list stays in the last.
MAX_ITEMS = 50
EVIDENCE = 4000
# A closing is dated when it is recorded: an item is done when its evidence
# is on record, so a closing cannot be back-dated past a missed due date.
CLOCK_SKEW = timedelta(minutes=5)

# A point's number or bullet at the start of a piece: "1." "1、" "1)" "(1)"
# "（一）" "①" "一、" "-" "•". "1.5 米" is not one (a digit follows the dot).
_MARKER = (
    r"(?:\d{1,2}(?:[.．](?!\d)|[、)）])"
    r"|[(（](?:\d{1,2}|[一二三四五六七八九十]{1,3})[)）]"
    r"|[①-⑳]"
    r"|[一二三四五六七八九十]{1,3}、"
    r"|[-•·*])"
)
_LEADING = re.compile(rf"^\s*{_MARKER}\s*")
# A numbered point inside a line begins after a space or a sentence's end.
# A circled number (①) begins one anywhere.
_INLINE = re.compile(
    r"(?:(?<=\s)|(?<=[。；;！!？?]))(?="
    r"(?:\d{1,2}(?:[.．](?!\d)|[、)）])|[(（](?:\d{1,2}|[一二三四五六七八九十]{1,3})[)）]"
    r"|[一二三四五六七八九十]{1,3}、))"
    r"|(?=[①-⑳])"
)
_SEPARATORS = re.compile(r"[；;]")
_TRAILING = " \t。；;，,"


def split_improvements(text: str | None) -> list[str]:
    """The items of a feedback's 改进措施: one per non-empty line, per
    numbered point and per "；"-separated point, numbers and bullets taken
    off. Nothing (None, blanks, punctuation alone) gives no items."""
    if text is None:
        return []
    items: list[str] = []
    for line in text.splitlines():
        for point in _INLINE.split(line):
            for piece in _SEPARATORS.split(point):
                item = _LEADING.sub("", piece).strip().rstrip(_TRAILING).strip()
                if any(ch.isalnum() for ch in item):
                    items.append(item)
    if len(items) > MAX_ITEMS:
        items = [*items[: MAX_ITEMS - 1], "；".join(items[MAX_ITEMS - 1 :])]
    return items


def item_id(complaint_id: uuid.UUID, round_: int, index: int) -> uuid.UUID:
    """The item's id: the same feedback's same point always gets the same one."""
    return uuid.uuid5(complaint_id, f"improvement:{round_}:{index}")


def item_stream(item: uuid.UUID) -> str:
    return f"{IMPROVEMENT_PREFIX}{item}"


@dataclass(frozen=True)
class Feedback:
    """What a result feedback says about its round, as the complaint's stream has it."""

    complaint_id: uuid.UUID
    tracking_no: str | None
    round: int
    department: str
    # Who resolved the round (the handler whose improvements they are).
    owner: str | None
    improvements: str | None
    fed_back_at: datetime
    # The ResultFeedbackSent these items come from.
    event_id: uuid.UUID
    correlation_id: uuid.UUID


def open_items(
    feedback: Feedback, calendar: WorkdayCalendar, working_days: int
) -> list[tuple[str, NewEvent]]:
    """(stream, ImprovementItemOpened) for each item of ``feedback``, due
    ``working_days`` working days after the feedback; each event's id is
    derived from its item, so storing them twice stores them once."""
    due = calendar.add_working_days(feedback.fed_back_at, working_days).at
    out: list[tuple[str, NewEvent]] = []
    for index, text in enumerate(split_improvements(feedback.improvements), start=1):
        item = item_id(feedback.complaint_id, feedback.round, index)
        data = ImprovementItemOpened(
            complaint_id=str(feedback.complaint_id),
            tracking_no=feedback.tracking_no,
            round=feedback.round,
            index=index,
            department=feedback.department,
            owner=feedback.owner,
            text=text,
            due_at=due,
            working_days=working_days,
        )
        event = new_event(
            data,
            event_id=uuid.uuid5(item, "opened"),
            occurred_at=feedback.fed_back_at,
            department=feedback.department,
            correlation_id=feedback.correlation_id,
            causation_id=feedback.event_id,
        )
        out.append((item_stream(item), event))
    return out


# -- one item's state ------------------------------------------------------------
@dataclass(frozen=True)
class ItemState:
    version: int = 0
    department: str | None = None
    owner: str | None = None
    due_at: datetime | None = None
    opened_at: datetime | None = None
    closed: bool = False

    @property
    def exists(self) -> bool:
        return self.version > 0


def evolve(state: ItemState, envelope: Envelope) -> ItemState:
    state = replace(state, version=envelope.version)
    if envelope.type == ImprovementItemOpened.event_type():
        opened = ImprovementItemOpened.model_validate(envelope.data)
        return replace(
            state,
            department=opened.department,
            owner=opened.owner,
            due_at=opened.due_at,
            opened_at=envelope.occurred_at,
        )
    if envelope.type == ImprovementItemClosed.event_type():
        return replace(state, closed=True)
    return state


def replay(history: list[Envelope]) -> ItemState:
    state = ItemState()
    for envelope in history:
        state = evolve(state, envelope)
    return state


# -- closing -----------------------------------------------------------------------
class CloseImprovement(BaseModel):
    """The owning department shows the improvement was made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    occurred_at: Instant
    evidence: Text = Field(min_length=1, max_length=EVIDENCE)
    # A resent closing with the same id finds its event stored already.
    command_id: uuid.UUID | None = None


class AlreadyClosed(DomainError):
    """The item was closed before (409)."""

    code = "illegal_transition"
    http_status = 409


def decide_close(state: ItemState, command: CloseImprovement, now: datetime) -> list[NewEvent]:
    """The ImprovementItemClosed ``command`` records, or the refusal."""
    actor = command.actor
    if not state.exists:
        raise NotFound("no such improvement item")
    if actor.role not in CLOSERS:
        raise Forbidden(
            f"role {actor.role} may not close an improvement item: its department closes it",
            role=actor.role,
            command="CloseImprovement",
        )
    if actor.department is None or actor.department != state.department:
        # As with cases: a department does not learn of another's items.
        raise NotFound("no such improvement item in your department")
    if state.closed:
        raise AlreadyClosed("the improvement item is closed already", current_state="closed")
    if not command.evidence.strip():
        raise InvalidCommand("evidence", "say what was done: the evidence is empty")
    if command.occurred_at > now + CLOCK_SKEW or command.occurred_at < now - CLOCK_SKEW:
        raise InvalidCommand(
            "occurred_at",
            "a closing is dated when it is recorded: occurred_at must be now",
        )
    event_id = None if command.command_id is None else uuid.uuid5(command.command_id, "0")
    return [
        new_event(
            ImprovementItemClosed(evidence=command.evidence.strip()),
            event_id=event_id or uuid.uuid4(),
            actor=actor,
            occurred_at=command.occurred_at,
            department=state.department,
        )
    ]
