"""What the inspection requests answer (``<root>.cmd.metrics.inspection-draw``
and ``inspection-review``): the stored sample, or the stored review and what
it did to its case."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from tousu.shared.events.quality import ReviewAction, SampledCase


class DrawResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str
    seed: int
    share: float
    minimum: int
    checklist_version: int
    # Closed cases per department, and the cases drawn.
    population: dict[str, int]
    cases: list[SampledCase]
    event_id: uuid.UUID
    recorded_at: datetime
    # The same command had been executed before: nothing new was stored.
    repeated: bool = False


class ReviewResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str
    complaint_id: uuid.UUID
    score: float
    passed: bool
    action: ReviewAction
    event_id: uuid.UUID
    recorded_at: datetime
    # The events the action appended to the complaint (none without one).
    case_events: list[str]
    # The complaint's status after the action, when there was one.
    case_status: str | None = None
    repeated: bool = False
