"""Commands: what someone asks to happen to a complaint.

Every command carries its actor and ``occurred_at`` — when the fact happened,
which may be earlier than when it is typed in (a letter received last week).
"""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import Actor
from shared.events.types import Channel, Complainant, DeadlineKind, PlanMeasure, Satisfaction

TEXT = 20_000  # longest free text accepted, in characters
SHORT = 500


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    occurred_at: AwareDatetime
    # Set by whoever sends the command: a resent command with the same id
    # yields the same event ids, which the store then appends only once.
    command_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    # The complaint's version the sender saw: if it has moved on since, the
    # command is refused (StaleVersion) instead of acting on a state nobody saw.
    expected_version: int | None = Field(default=None, ge=0)
    # Why a fact is recorded later than staff may record it on their own (补录
    # beyond the window): required then, and only a supervisor may give it
    # (shared/domain/late_entries.py).
    late_reason: str | None = Field(default=None, min_length=1, max_length=SHORT)

    @classmethod
    def name(cls) -> str:
        return cls.__name__


class ComplaintFacts(BaseModel):
    """What the policy asks to record of every complaint (记录信息), whatever the channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    # The channel's own reference (call id, letter register number, form id):
    # a resend with the same one is the same complaint.
    external_ref: str | None = Field(default=None, max_length=200)
    complainant: Complainant
    subject: str = Field(min_length=1, max_length=SHORT)
    description: str = Field(min_length=1, max_length=TEXT)
    happened_at: AwareDatetime | None = None
    location: str | None = Field(default=None, max_length=SHORT)
    people_involved: str | None = Field(default=None, max_length=SHORT)
    demands: str | None = Field(default=None, max_length=TEXT)
    category: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    service_item: str | None = Field(default=None, max_length=64)
    language: str = Field(default="zh-CN", pattern=r"^(zh|en)(-[A-Za-z]+)?$")


class SubmitComplaint(Command, ComplaintFacts):
    tracking_no: str = Field(max_length=40)
    access_code_hash: str | None = None


class AcceptComplaint(Command):
    category: str
    subcategory: str | None = None
    service_item: str | None = None
    verification_note: str | None = Field(default=None, max_length=TEXT)


class RejectComplaint(Command):
    reason: str = Field(min_length=1, max_length=TEXT)
    suggestion: str = Field(min_length=1, max_length=TEXT)
    reason_code: str | None = None
    verification_note: str | None = Field(default=None, max_length=TEXT)


class RouteComplaint(Command):
    department: str = Field(min_length=1, max_length=64)
    rule_id: str | None = None
    rule_version: int | None = None
    requirements: str | None = Field(default=None, max_length=TEXT)


class ClaimCase(Command):
    handler: str | None = None  # default: the actor


class ReturnCase(Command):
    reason: str = Field(min_length=1, max_length=TEXT)
    basis: str = Field(min_length=1, max_length=TEXT)


class RecordInvestigation(Command):
    findings: str = Field(min_length=1, max_length=TEXT)
    methods: list[str] = Field(default_factory=list, max_length=20)


class ProposePlan(Command):
    measures: list[PlanMeasure] = Field(min_length=1, max_length=50)
    summary: str | None = Field(default=None, max_length=TEXT)


class RecordConsultation(Command):
    agrees: bool
    opinion: str | None = Field(default=None, max_length=TEXT)


class ReportProgress(Command):
    progress: str = Field(min_length=1, max_length=TEXT)
    notify_complainant: bool = True


class RequestExtension(Command):
    working_days: int = Field(ge=1, le=10)
    reason: str = Field(min_length=1, max_length=TEXT)


class DecideExtension(Command):
    approved: bool
    working_days: int | None = Field(default=None, ge=1, le=10)  # default: as requested
    reason: str | None = Field(default=None, max_length=TEXT)


class ResolveComplaint(Command):
    result: str = Field(min_length=1, max_length=TEXT)
    basis: str = Field(min_length=1, max_length=TEXT)
    improvements: str | None = Field(default=None, max_length=TEXT)


class SendFeedback(Command):
    channel: Channel | None = None  # default: the complainant's preferred channel


class RecordFollowUp(Command):
    satisfaction: Satisfaction
    comment: str | None = Field(default=None, max_length=TEXT)


class ReopenComplaint(Command):
    reason: str = Field(min_length=1, max_length=TEXT)


class LinkDuplicate(Command):
    """Merge (``linked``) or unmerge a duplicate into a primary complaint.

    Decided once on each of the two streams.
    """

    primary_complaint_id: str
    duplicate_complaint_id: str
    linked: bool = True


class RaiseSupervision(Command):
    kind: str = Field(min_length=1, max_length=64)  # e.g. chase (催办), warning, overdue
    # The deadline a warning or overdue notice is about (the deadline watcher).
    deadline: DeadlineKind | None = None
    # The due instant the notice was about: a notice for a deadline that has
    # since moved or been met is stale and records nothing.
    due_at: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=TEXT)
    related_complaint_id: str | None = None


class RecalculateDeadlines(Command):
    """Recompute the provisional deadlines on the current calendar, e.g. after
    the official holiday schedule of a year was imported."""

    reason: str = Field(min_length=1, max_length=SHORT)
