"""Typed data for every event type of docs/design.md, "Events".

Later work may refine the fields; a change of shape bumps ``schema_version``
and registers an upcaster (see :mod:`tousu.shared.events.upcast`).
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from tousu.shared.events.base import EventData


class Channel(StrEnum):
    PHONE = "phone"
    WEB = "web"
    WECHAT = "wechat"
    LETTER = "letter"
    WALK_IN = "walk_in"
    OPEN311 = "open311"


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    UNREACHABLE = "unreachable"


class DeadlineKind(StrEnum):
    ACCEPTANCE = "acceptance"
    CLAIM = "claim"
    RETURN = "return"
    FEEDBACK = "feedback"
    FOLLOW_UP = "follow_up"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Complainant(_Part):
    """Who complained. The personal fields (name, phone, email, address,
    id_number, wechat_openid) are stored sealed: the event store keeps only ``key`` (the
    complainant whose data key encrypts them) and ``sealed`` (the ciphertext),
    and :mod:`tousu.shared.privacy` reveals them where they are needed. ``erased``
    marks a complainant whose key has been destroyed: the fields are gone."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    id_number: str | None = None  # 居民身份证号码, checked with its check digit
    # The sender's OpenID at the organisation's WeChat official account
    # (微信公众号): how a WeChat complainant is told (template messages).
    wechat_openid: str | None = Field(default=None, max_length=128)
    anonymous: bool = False
    preferred_channel: Channel | None = None
    key: uuid.UUID | None = None
    sealed: str | None = None
    erased: bool = False

    @field_validator("id_number")
    @classmethod
    def _resident_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ric.validate(value))
        except ValidationError as e:
            raise ValueError("not a valid resident identity card number") from e


class Deadline(_Part):
    kind: DeadlineKind
    due_at: AwareDatetime
    working_days: int = Field(ge=0)
    provisional: bool = False


class FileRef(_Part):
    """One attached file as the record names it (docs/attachments.md): the
    bytes live outside the event, in the attachment store, found by
    ``owner`` and ``sha256``. Everything here was decided by the store from
    the content, never taken from the sender: the type from the bytes, the
    size and hash of what was kept (an image re-encoded, its EXIF gone)."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # of the kept (sanitised) content
    size: int = Field(ge=1)
    media_type: str = Field(min_length=3, max_length=100)
    name: str = Field(min_length=1, max_length=255)  # the original name, sanitised
    # The complainant key the file is sealed with (shared/attachments/sealing.py):
    # erasing that complainant makes the file unreadable.
    owner: uuid.UUID | None = None
    thumbnail: bool = False  # a thumbnail is stored beside it (images)
    # Who sees what, beyond the staff who may see the case: a department's file
    # shown to the complainant, a file shown on the public Open311 reads.
    shared_with_complainant: bool = False
    public: bool = False


# Optional on every event that may carry files, left out of the stored data
# when empty: events stored before attachments existed, and new ones without
# any, read and store as before (no schema_version bump is needed).
def _files() -> list[FileRef]:
    return []


def attachments_field() -> list[FileRef]:
    return Field(default_factory=_files, exclude_if=lambda files: not files)


class PlanMeasure(_Part):
    measure: str
    owner: str
    due_on: date | None = None


# -- intake -----------------------------------------------------------------
class ComplaintReceived(EventData):
    tracking_no: str
    channel: Channel
    external_ref: str | None = None
    complainant: Complainant
    subject: str
    description: str
    happened_at: AwareDatetime | None = None
    location: str | None = None
    people_involved: str | None = None
    demands: str | None = None
    category: str | None = None
    subcategory: str | None = None
    service_item: str | None = None
    register_version: int | None = None
    access_code_hash: str | None = None
    acceptance_deadline: Deadline | None = None
    language: str = "zh-CN"
    # A 监督举报 about how an earlier complaint was handled names it.
    related_tracking_no: str | None = None
    related_complaint_id: str | None = None
    attachments: list[FileRef] = attachments_field()


class ComplaintAccepted(EventData):
    category: str
    subcategory: str | None = None
    service_item: str | None = None
    register_version: int | None = None
    verification_note: str | None = None
    notice_text: str
    feedback_deadline: Deadline


class ComplaintRejected(EventData):
    reason: str
    suggestion: str
    reason_code: str | None = None
    verification_note: str | None = None
    notice_text: str


# -- routing ----------------------------------------------------------------
class ComplaintRouted(EventData):
    department: str
    rule_id: str | None = None
    rule_version: int | None = None
    requirements: str | None = None
    claim_deadline: Deadline
    return_deadline: Deadline | None = None
    feedback_deadline: Deadline


class CaseClaimed(EventData):
    department: str
    handler: str | None = None


class CaseReturned(EventData):
    department: str
    reason: str
    basis: str
    return_count: int = Field(ge=1)


# -- handling ---------------------------------------------------------------
class InvestigationRecorded(EventData):
    findings: str
    methods: list[str] = Field(default_factory=list)
    attachments: list[FileRef] = attachments_field()


class HandlingPlanProposed(EventData):
    measures: list[PlanMeasure]
    summary: str | None = None
    attachments: list[FileRef] = attachments_field()


class ComplainantConsulted(EventData):
    agrees: bool
    opinion: str | None = None


class ProgressReported(EventData):
    progress: str
    notify_complainant: bool = True
    notice_text: str | None = None
    attachments: list[FileRef] = attachments_field()


class ExtensionRequested(EventData):
    working_days: int = Field(ge=1, le=10)
    reason: str


class ExtensionDecided(EventData):
    approved: bool
    working_days: int = Field(ge=0, le=10)
    reason: str | None = None
    feedback_deadline: Deadline | None = None
    notice_text: str | None = None


class ComplaintResolved(EventData):
    result: str
    basis: str
    improvements: str | None = None
    round: int = Field(default=1, ge=1)
    # Resolved after the investigation alone, as the service item's register
    # entry allows (no written plan, no consultation; docs/handling-order.md).
    short_path: bool = False
    attachments: list[FileRef] = attachments_field()


class ResultFeedbackSent(EventData):
    channel: Channel
    round: int = Field(default=1, ge=1)
    notice_text: str | None = None


# -- followup ---------------------------------------------------------------
class FollowUpScheduled(EventData):
    due: Deadline


class ComplaintFollowedUp(EventData):
    satisfaction: Satisfaction
    comment: str | None = None
    round: int = Field(default=1, ge=1)


class ComplaintReopened(EventData):
    reason: str
    round: int = Field(ge=2)
    feedback_deadline: Deadline


class ComplaintClosed(EventData):
    reason: str | None = None


# -- supervision and cross-case -----------------------------------------------
class SupervisionRaised(EventData):
    kind: str  # e.g. warning, overdue, arbitration, public_report
    deadline: DeadlineKind | None = None
    note: str | None = None
    related_complaint_id: str | None = None
    # When the department is to have answered a manual 督办 (None: no date set).
    respond_by: AwareDatetime | None = None
    attachments: list[FileRef] = attachments_field()


class DuplicateLinked(EventData):
    primary_complaint_id: str
    duplicate_complaint_id: str
    linked: bool = True  # False records an undone link


class DeadlineRecalculated(EventData):
    previous: Deadline
    current: Deadline
    reason: str


class LateEntryRecorded(EventData):
    """Marks the events a command just added as a late entry (补录): dated
    (``occurred_at``) earlier than they were recorded by more than the grace
    for clock skew. Stored right after them, in the same append, by the same
    actor; ``approved_by`` names the supervisor who recorded it beyond the
    window staff may use on their own, with ``reason``."""

    events: list[str]  # the event types marked, in the order stored
    late_by_seconds: int = Field(ge=0)  # recorded this much after occurred_at
    window: str  # which window applied: registration, working_day or system
    within_window: bool
    reason: str | None = None
    approved_by: str | None = None
