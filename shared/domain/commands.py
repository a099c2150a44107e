"""Commands: what someone asks to happen to a complaint.

Every command carries its actor and ``occurred_at`` — when the fact happened,
which may be earlier than when it is typed in (a letter received last week).
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tousu.shared.domain.inputs import Instant, Text, clean_text
from tousu.shared.events import Actor
from tousu.shared.events.types import (
    Channel,
    Complainant,
    DeadlineKind,
    FileRef,
    PlanMeasure,
    Satisfaction,
)

TEXT = 20_000  # longest free text accepted, in characters
SHORT = 500
# Most files any one step may carry, whatever the settings say (the
# deployment's own, lower limit is the decider's: DecisionContext.max_attachments).
FILES = 20


class ComplainantFacts(Complainant):
    """The complainant as a command carries them: the event's fields, each
    text checked on the way in. The event type itself stays lenient, so a
    stream stored before the check still reads. A validator rather than
    annotations, so that a subclass narrowing a field (the public API's
    contact rules) keeps the check."""

    # A plain Complainant given in its place is read field by field (and so
    # checked), as a dict would be.
    model_config = ConfigDict(from_attributes=True)

    @field_validator(
        "name", "phone", "email", "address", "id_number", "wechat_openid", mode="before"
    )
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value


class PlanMeasureFacts(PlanMeasure):
    """A measure of a handling plan as a command carries it, text checked."""

    model_config = ConfigDict(from_attributes=True)

    @field_validator("measure", "owner", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value


class Attaching(BaseModel):
    """A command that may carry files: references to files already in the
    attachment store (shared/attachments), stored before the command."""

    attachments: list[FileRef] = Field(default_factory=list, max_length=FILES)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    occurred_at: Instant
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
    late_reason: Text | None = Field(default=None, min_length=1, max_length=SHORT)

    @classmethod
    def name(cls) -> str:
        return cls.__name__


class ComplaintFacts(BaseModel):
    """What the policy asks to record of every complaint (记录信息), whatever the channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    # The channel's own reference (call id, letter register number, form id):
    # a resend with the same one is the same complaint.
    external_ref: Text | None = Field(default=None, max_length=200)
    complainant: ComplainantFacts
    subject: Text = Field(min_length=1, max_length=SHORT)
    description: Text = Field(min_length=1, max_length=TEXT)
    happened_at: Instant | None = None
    location: Text | None = Field(default=None, max_length=SHORT)
    people_involved: Text | None = Field(default=None, max_length=SHORT)
    demands: Text | None = Field(default=None, max_length=TEXT)
    category: Text | None = Field(default=None, max_length=64)
    subcategory: Text | None = Field(default=None, max_length=64)
    service_item: Text | None = Field(default=None, max_length=64)
    language: Text = Field(default="zh-CN", pattern=r"^(zh|en)(-[A-Za-z]+)?$")
    # A report about how an earlier complaint was handled (监督举报) names it by
    # its tracking number; the intake service finds the complaint it belongs to.
    related_tracking_no: Text | None = Field(default=None, max_length=40)


class SubmitComplaint(Command, ComplaintFacts, Attaching):
    tracking_no: Text = Field(max_length=40)
    access_code_hash: Text | None = None
    # The complaint related_tracking_no names, found by the intake service
    # (None when that number belongs to no complaint: refused).
    related_complaint_id: Text | None = Field(default=None, max_length=64)


class AcceptComplaint(Command):
    category: Text
    subcategory: Text | None = None
    service_item: Text | None = None
    verification_note: Text | None = Field(default=None, max_length=TEXT)


class RejectComplaint(Command):
    reason: Text = Field(min_length=1, max_length=TEXT)
    suggestion: Text = Field(min_length=1, max_length=TEXT)
    reason_code: Text | None = None
    verification_note: Text | None = Field(default=None, max_length=TEXT)


class RouteComplaint(Command):
    department: Text = Field(min_length=1, max_length=64)
    rule_id: Text | None = None
    rule_version: int | None = None
    requirements: Text | None = Field(default=None, max_length=TEXT)


class ClaimCase(Command):
    handler: Text | None = None  # default: the actor


class ReturnCase(Command):
    reason: Text = Field(min_length=1, max_length=TEXT)
    basis: Text = Field(min_length=1, max_length=TEXT)


class RecordInvestigation(Command, Attaching):
    findings: Text = Field(min_length=1, max_length=TEXT)
    methods: list[Text] = Field(default_factory=list, max_length=20)


class ProposePlan(Command, Attaching):
    measures: list[PlanMeasureFacts] = Field(min_length=1, max_length=50)
    summary: Text | None = Field(default=None, max_length=TEXT)


class RecordConsultation(Command):
    agrees: bool
    opinion: Text | None = Field(default=None, max_length=TEXT)


class ReportProgress(Command, Attaching):
    progress: Text = Field(min_length=1, max_length=TEXT)
    notify_complainant: bool = True


class RequestExtension(Command):
    working_days: int = Field(ge=1, le=10)
    reason: Text = Field(min_length=1, max_length=TEXT)


class DecideExtension(Command):
    approved: bool
    working_days: int | None = Field(default=None, ge=1, le=10)  # default: as requested
    reason: Text | None = Field(default=None, max_length=TEXT)


class ResolveComplaint(Command, Attaching):
    result: Text = Field(min_length=1, max_length=TEXT)
    basis: Text = Field(min_length=1, max_length=TEXT)
    improvements: Text | None = Field(default=None, max_length=TEXT)
    # The handler takes the short path the service item's register entry
    # allows: resolved after the investigation, without a plan and consultation.
    short_path: bool = False


class SendFeedback(Command):
    channel: Channel | None = None  # default: the complainant's preferred channel


class RecordFollowUp(Command):
    satisfaction: Satisfaction
    comment: Text | None = Field(default=None, max_length=TEXT)


class ReopenComplaint(Command):
    reason: Text = Field(min_length=1, max_length=TEXT)


class LinkDuplicate(Command):
    """Merge (``linked``) or unmerge a duplicate into a primary complaint.

    Decided once on each of the two streams.
    """

    primary_complaint_id: Text
    duplicate_complaint_id: Text
    linked: bool = True


class RaiseSupervision(Command, Attaching):
    kind: Text = Field(min_length=1, max_length=64)  # e.g. chase (催办), warning, overdue
    # The deadline a warning or overdue notice is about (the deadline watcher).
    deadline: DeadlineKind | None = None
    # The due instant the notice was about: a notice for a deadline that has
    # since moved or been met is stale and records nothing.
    due_at: Instant | None = None
    note: Text | None = Field(default=None, max_length=TEXT)
    related_complaint_id: Text | None = None
    # When the department is to have answered a manual 督办 (optional).
    respond_by: Instant | None = None


class RecalculateDeadlines(Command):
    """Recompute the provisional deadlines on the current calendar, e.g. after
    the official holiday schedule of a year was imported."""

    reason: Text = Field(min_length=1, max_length=SHORT)
