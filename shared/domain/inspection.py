"""The quality inspection (定期检查/抽查, policy 一(五)1), decided: a month's
sample drawn from its closed cases, and a reviewer's scores of one sampled
case against the checklist.

Pure: the population, the checklist, the time and a fresh seed come from the
caller; nothing is stored on a refusal. A month's records live on one stream,
``inspection-<YYYY-MM>``: its ``InspectionSampleDrawn`` (once), then one
``InspectionReviewed`` per reviewed case. A failed review may act on the case
itself (a 督办, or a reopening): the decision names that complaint command,
and the caller executes it in the same transaction as the review's append.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.errors import Forbidden, InvalidCommand, NotFound
from tousu.shared.domain.inputs import Instant, Month, Text
from tousu.shared.events import Actor, Envelope, NewEvent, new_event
from tousu.shared.events.quality import (
    INSPECTION_PREFIX,
    CheckScore,
    InspectionReviewed,
    InspectionSampleDrawn,
    ReviewAction,
    SampledCase,
    SampleReason,
)

# Who draws and reviews: the supervision office.
ROLES = frozenset({"supervisor", "admin"})
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
# The largest seed a draw records (a 63-bit integer: PostgreSQL's bigint and
# JSON readers everywhere keep it exact).
MAX_SEED = 2**63 - 1
# An inspection is dated when it is recorded: it is not a fact that happened
# elsewhere earlier, so it is not back-dated (nor dated ahead beyond skew).
CLOCK_SKEW = timedelta(minutes=5)
# The 督办 a failed review raises on its case (SupervisionRaised.kind).
SUPERVISION_KIND = "inspection"
NOTE = 2000


def stream_of(period: str) -> str:
    return f"{INSPECTION_PREFIX}{period}"


def month_window(period: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` as the instants ``[from, to)``, Shanghai time."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=TZ)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=TZ)
    return start, end


# -- the checklist, as the decisions need it --------------------------------------
@dataclass(frozen=True)
class ChecklistRule:
    """One version of the checklist: its items' maximum points and the pass mark
    (a percentage of the total maximum)."""

    version: int
    pass_mark: float
    max_points: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.max_points.values())


# -- commands -----------------------------------------------------------------------
class _InspectionCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    period: Month
    # When it was done; by default when it is decided (it cannot be back-dated).
    occurred_at: Instant | None = None
    # A resent command with the same id yields the same event ids.
    command_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None


class DrawInspection(_InspectionCommand):
    """Draw the month's sample (``<root>.cmd.metrics.inspection-draw``)."""

    # Given, or one is generated (and recorded either way).
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    # Per draw, instead of settings.quality's inspection_share / _minimum.
    share: float | None = Field(default=None, gt=0, le=1)
    minimum: int | None = Field(default=None, ge=0, le=1000)


class ItemScore(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item: Text = Field(min_length=1, max_length=64)
    points: float = Field(allow_inf_nan=False)
    note: Text | None = Field(default=None, max_length=NOTE)


class ReviewInspection(_InspectionCommand):
    """Score one sampled case (``<root>.cmd.metrics.inspection-review``)."""

    complaint_id: uuid.UUID
    scores: list[ItemScore] = Field(min_length=1, max_length=100)
    notes: Text | None = Field(default=None, max_length=c.TEXT)
    # What a failed review asks for on the case: a 督办, or a reopening.
    action: ReviewAction = "none"
    # The 督办's note or the reopening's reason, required with an action.
    reason: Text | None = Field(default=None, max_length=c.TEXT)


# -- the month's stream, replayed ----------------------------------------------------
@dataclass(frozen=True)
class InspectionState:
    version: int = 0
    drawn: InspectionSampleDrawn | None = None
    drawn_at: datetime | None = None
    reviewed: frozenset[str] = field(default_factory=frozenset)

    def sampled(self, complaint_id: str) -> SampledCase | None:
        if self.drawn is None:
            return None
        return next((s for s in self.drawn.cases if s.complaint_id == complaint_id), None)


def evolve(state: InspectionState, envelope: Envelope) -> InspectionState:
    version = envelope.version
    if envelope.type == InspectionSampleDrawn.event_type():
        drawn = InspectionSampleDrawn.model_validate(envelope.data)
        return InspectionState(version, drawn, envelope.recorded_at, state.reviewed)
    if envelope.type == InspectionReviewed.event_type():
        reviewed = InspectionReviewed.model_validate(envelope.data)
        return InspectionState(
            version, state.drawn, state.drawn_at, state.reviewed | {reviewed.complaint_id}
        )
    return InspectionState(version, state.drawn, state.drawn_at, state.reviewed)


def replay(history: Iterable[Envelope]) -> InspectionState:
    state = InspectionState()
    for envelope in history:
        state = evolve(state, envelope)
    return state


# -- the draw ------------------------------------------------------------------------
@dataclass(frozen=True)
class PopulationCase:
    """A case closed in the month, as the draw sees it."""

    complaint_id: str
    department: str
    tracking_no: str | None = None
    handler: str | None = None
    reopened: bool = False
    late_entry: bool = False


def sample_size(n: int, share: float, minimum: int) -> int:
    """``max(minimum, ceil(share × n))``, at most ``n``. The product is rounded
    first, so that 0.1 × 30 (3.0000000000000004 in floating point) is 3."""
    return min(n, max(minimum, math.ceil(round(share * n, 9))))


def draw_sample(
    population: Iterable[PopulationCase], *, seed: int, period: str, share: float, minimum: int
) -> tuple[list[SampledCase], dict[str, int]]:
    """The sample, and the population's size per department.

    Per department, its cases in a stable order (by complaint id), then
    ``sample_size`` of them drawn by a generator seeded from the seed, the
    period and the department — so a department's draw depends on nothing
    but its own cases — plus every reopened case and every case with a late
    entry. The same population and seed always give the same sample.
    """
    by_department: dict[str, list[PopulationCase]] = {}
    for case in population:
        by_department.setdefault(case.department, []).append(case)
    sample: list[SampledCase] = []
    sizes: dict[str, int] = {}
    for department in sorted(by_department):
        cases = sorted(by_department[department], key=lambda p: p.complaint_id)
        sizes[department] = len(cases)
        # A str seed is hashed with SHA-512 (random.seed, version 2): the same
        # on every platform and run, whatever PYTHONHASHSEED is.
        rng = random.Random(f"{seed}:{period}:{department}")
        picked = set(rng.sample(range(len(cases)), sample_size(len(cases), share, minimum)))
        for i, case in enumerate(cases):
            reasons: list[SampleReason] = []
            if i in picked:
                reasons.append("random")
            if case.reopened:
                reasons.append("reopened")
            if case.late_entry:
                reasons.append("late_entry")
            if reasons:
                sample.append(
                    SampledCase(
                        complaint_id=case.complaint_id,
                        tracking_no=case.tracking_no,
                        department=department,
                        handler=case.handler,
                        reasons=reasons,
                    )
                )
    return sample, sizes


@dataclass(frozen=True)
class DrawContext:
    now: datetime
    share: float  # settings.quality.inspection_share
    minimum: int  # settings.quality.inspection_minimum
    checklist_version: int
    # Used when the command names no seed (the caller's secrets.randbelow).
    fresh_seed: int


def decide_draw(
    state: InspectionState,
    cmd: DrawInspection,
    population: Sequence[PopulationCase],
    ctx: DrawContext,
) -> list[NewEvent]:
    _authorise(cmd)
    occurred_at = _when(cmd, ctx.now)
    window_from, window_to = month_window(cmd.period)
    if window_to > ctx.now:
        raise InvalidCommand(
            "period", f"{cmd.period} has not ended yet: its closed cases are not all known"
        )
    if state.drawn is not None:
        when = f" at {state.drawn_at.isoformat()}" if state.drawn_at else ""
        raise InvalidCommand(
            "period",
            f"the sample of {cmd.period} was drawn already{when} (seed {state.drawn.seed});"
            " a month is drawn once",
        )
    if not 0 <= ctx.fresh_seed <= MAX_SEED:
        raise ValueError("fresh_seed out of range")
    seed = cmd.seed if cmd.seed is not None else ctx.fresh_seed
    share = cmd.share if cmd.share is not None else ctx.share
    minimum = cmd.minimum if cmd.minimum is not None else ctx.minimum
    cases, sizes = draw_sample(
        population, seed=seed, period=cmd.period, share=share, minimum=minimum
    )
    drawn = InspectionSampleDrawn(
        period=cmd.period,
        window_from=window_from,
        window_to=window_to,
        seed=seed,
        share=share,
        minimum=minimum,
        checklist_version=ctx.checklist_version,
        population=sizes,
        cases=cases,
    )
    return [_event(cmd, drawn, occurred_at, department="supervision")]


# -- the review ----------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewDecision:
    events: list[NewEvent]
    # The command the review asks for on its case, to execute in the same
    # transaction; None when it asks for nothing.
    case_command: c.Command | None


def decide_review(
    state: InspectionState,
    cmd: ReviewInspection,
    checklist: ChecklistRule,
    now: datetime,
) -> ReviewDecision:
    _authorise(cmd)
    occurred_at = _when(cmd, now)
    if state.drawn is None:
        raise NotFound(f"no inspection sample has been drawn for {cmd.period}", period=cmd.period)
    if checklist.version != state.drawn.checklist_version:
        raise ValueError(
            f"checklist version {checklist.version} given for a draw on version"
            f" {state.drawn.checklist_version}"
        )
    complaint_id = str(cmd.complaint_id)
    case = state.sampled(complaint_id)
    if case is None:
        raise InvalidCommand("complaint_id", f"this case is not in the sample of {cmd.period}")
    if complaint_id in state.reviewed:
        raise InvalidCommand(
            "complaint_id", f"this case was reviewed already in {cmd.period}: one review per case"
        )
    scores = _scores(cmd.scores, checklist)
    total = round(sum(s.points for s in scores) / checklist.total * 100, 2)
    passed = total >= checklist.pass_mark
    if cmd.action != "none":
        if passed:
            raise InvalidCommand(
                "action", f"the review passed ({total:g} ≥ {checklist.pass_mark:g}): no action"
            )
        if not (cmd.reason or "").strip():
            raise InvalidCommand("reason", f"a review asking to {cmd.action} needs its reason")
    reviewed = InspectionReviewed(
        period=cmd.period,
        complaint_id=complaint_id,
        department=case.department,
        handler=case.handler,
        checklist_version=checklist.version,
        scores=scores,
        score=total,
        passed=passed,
        notes=cmd.notes.strip() if cmd.notes and cmd.notes.strip() else None,
        action=cmd.action,
    )
    events = [_event(cmd, reviewed, occurred_at, department="supervision")]
    return ReviewDecision(events, _case_command(cmd, occurred_at, events[0].correlation_id))


def _scores(given: Sequence[ItemScore], checklist: ChecklistRule) -> list[CheckScore]:
    seen: set[str] = set()
    out: list[CheckScore] = []
    for i, score in enumerate(given):
        maximum = checklist.max_points.get(score.item)
        if maximum is None:
            raise InvalidCommand(
                f"scores.{i}.item",
                f"{score.item!r} is not an item of checklist v{checklist.version}",
            )
        if score.item in seen:
            raise InvalidCommand(f"scores.{i}.item", f"{score.item!r} is scored twice")
        seen.add(score.item)
        if not 0 <= score.points <= maximum:
            raise InvalidCommand(f"scores.{i}.points", f"must be from 0 to {maximum:g}")
        note = score.note.strip() if score.note and score.note.strip() else None
        out.append(CheckScore(item=score.item, points=score.points, max_points=maximum, note=note))
    missing = [code for code in checklist.max_points if code not in seen]
    if missing:
        raise InvalidCommand("scores", f"items not scored: {', '.join(missing)}")
    return out


def _case_command(
    cmd: ReviewInspection, occurred_at: datetime, correlation_id: uuid.UUID
) -> c.Command | None:
    if cmd.action == "none":
        return None
    reason = (cmd.reason or "").strip()
    common = {
        "actor": cmd.actor,
        "occurred_at": occurred_at,
        "command_id": None if cmd.command_id is None else uuid.uuid5(cmd.command_id, "case"),
        "correlation_id": correlation_id,
    }
    if cmd.action == "reopen":
        return c.ReopenComplaint(reason=f"质量检查 {cmd.period}：{reason}", **common)
    return c.RaiseSupervision(
        kind=SUPERVISION_KIND, note=f"质量检查 {cmd.period}：{reason}", **common
    )


# -- shared checks -------------------------------------------------------------------
def _authorise(cmd: _InspectionCommand) -> None:
    if cmd.actor.role not in ROLES:
        raise Forbidden(
            f"role {cmd.actor.role} may not {type(cmd).__name__}",
            role=cmd.actor.role,
            command=type(cmd).__name__,
        )


def _when(cmd: _InspectionCommand, now: datetime) -> datetime:
    if cmd.occurred_at is None:
        return now
    if abs(cmd.occurred_at - now) > CLOCK_SKEW:
        raise InvalidCommand("occurred_at", "an inspection is dated when it is recorded")
    return cmd.occurred_at


def _event(
    cmd: _InspectionCommand,
    data: InspectionSampleDrawn | InspectionReviewed,
    at: datetime,
    *,
    department: str,
) -> NewEvent:
    event_id = uuid.uuid4() if cmd.command_id is None else uuid.uuid5(cmd.command_id, "0")
    correlation_id = cmd.correlation_id or cmd.command_id or uuid.uuid4()
    return new_event(
        data,
        event_id=event_id,
        actor=cmd.actor,
        occurred_at=at,
        department=department,
        correlation_id=correlation_id,
    )
