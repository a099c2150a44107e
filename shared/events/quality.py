"""Typed data of the supervision office's own records (policy 一(五)): the
quality inspection (定期检查/抽查), improvement items (整改跟踪) and hotspot
alerts (热点诉求). Unlike the other events they are not a complaint's: each
kind has streams of its own (``inspection-<period>``, ``improvement-<id>``,
``hotspot-<id>``), so the complaints' projections and consumers pass them by.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tousu.shared.events.base import EventData
from tousu.shared.events.types import FileRef, attachments_field

INSPECTION_PREFIX = "inspection-"
IMPROVEMENT_PREFIX = "improvement-"
HOTSPOT_PREFIX = "hotspot-"

SampleReason = Literal["random", "reopened", "late_entry"]
ReviewAction = Literal["none", "supervise", "reopen"]
HotspotDimension = Literal["service_item", "location", "term"]
HotspotPeriod = Literal["week", "month"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- quality inspection (定期检查 / 抽查) ----------------------------------------
class SampledCase(_Part):
    complaint_id: str
    tracking_no: str | None = None
    department: str
    handler: str | None = None
    # Why it is in the sample: drawn at random, or always in (reopened, late entry).
    reasons: list[SampleReason] = Field(min_length=1)


class InspectionSampleDrawn(EventData):
    """The period's sample, drawn once: repeating the draw from ``seed`` over
    the same population gives the same cases (services/metrics/inspection)."""

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")  # the month whose closed cases
    window_from: AwareDatetime
    window_to: AwareDatetime
    seed: int = Field(ge=0)
    share: float = Field(gt=0, le=1)
    minimum: int = Field(ge=0)
    checklist_version: int = Field(ge=1)
    # Closed cases per department: the population each department's draw was from.
    population: dict[str, int]
    cases: list[SampledCase]


class CheckScore(_Part):
    item: str  # the checklist item's code
    points: float = Field(ge=0)
    max_points: float = Field(gt=0)
    note: str | None = None


class InspectionReviewed(EventData):
    """A reviewer's verdict on one sampled case against the checklist."""

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    complaint_id: str
    department: str
    handler: str | None = None
    checklist_version: int = Field(ge=1)
    scores: list[CheckScore] = Field(min_length=1)
    score: float = Field(ge=0, le=100)  # the total, as a percentage of the maximum
    passed: bool
    notes: str | None = None
    # What the failed review led to on the case itself (a 督办, or a reopening).
    action: ReviewAction = "none"


# -- improvements (整改跟踪) ------------------------------------------------------
class ImprovementItemOpened(EventData):
    """One improvement (下一步的改进措施) a result feedback promised."""

    complaint_id: str
    tracking_no: str | None = None
    round: int = Field(ge=1)
    index: int = Field(ge=1)  # its place among the round's improvements
    department: str
    owner: str | None = None
    # As long as the feedback's text allows (one unnumbered paragraph is one item).
    text: str = Field(min_length=1, max_length=20_000)
    due_at: AwareDatetime
    working_days: int = Field(ge=1)


class ImprovementItemClosed(EventData):
    """The owning department shows the improvement was made."""

    evidence: str = Field(min_length=1, max_length=4000)
    attachments: list[FileRef] = attachments_field()


# -- recurring problems (热点与趋势) ----------------------------------------------
class HotspotAlertRaised(EventData):
    """A rise in one group's complaints beyond the threshold, for the
    supervision office; its stream id is derived from the group and period,
    so the same rise is raised once."""

    dimension: HotspotDimension
    key: str = Field(min_length=1, max_length=200)
    period: HotspotPeriod
    period_start: date
    count: int = Field(ge=0)
    # The mean count of the periods before (the comparison), and how many.
    baseline: float = Field(ge=0)
    baseline_periods: int = Field(ge=1)
    threshold: float = Field(gt=0)
    complaint_ids: list[str] = Field(default_factory=list, max_length=200)
