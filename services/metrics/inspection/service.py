"""``<root>.cmd.metrics.inspection-draw`` and ``inspection-review``: load the
month's stream, read what the decision needs, decide, append — the table rows,
and a failed review's action on its case, in the same transaction."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from tousu.services.metrics.inspection import records
from tousu.services.metrics.inspection.checklist import checklists
from tousu.services.metrics.inspection.population import closed_cases
from tousu.shared.application.catalogue import METRICS
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.inspection import DrawResult, ReviewResult
from tousu.shared.application.replies import Request
from tousu.shared.domain.inspection import (
    MAX_SEED,
    DrawContext,
    DrawInspection,
    InspectionState,
    ReviewInspection,
    decide_draw,
    decide_review,
    month_window,
    replay,
    stream_of,
)
from tousu.shared.events import Envelope, utcnow
from tousu.shared.events.quality import InspectionReviewed, InspectionSampleDrawn
from tousu.shared.settings import Settings
from tousu.shared.store import ConcurrencyConflict
from tousu.shared.store.postgres import PgUnitOfWork, PostgresEventStore

T = TypeVar("T")
ATTEMPTS = 5
Now = Callable[[], datetime]


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    # A concurrent append to the month's stream (another review) or to the
    # case: read again and decide again.
    for i in range(ATTEMPTS):
        try:
            return await attempt()
        except ConcurrencyConflict:
            if i == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _earlier(history: list[Envelope], cmd: DrawInspection | ReviewInspection) -> Envelope | None:
    """The event a resent command (same ``command_id``) stored already."""
    if cmd.command_id is None:
        return None
    first = uuid.uuid5(cmd.command_id, "0")
    return next((e for e in history if e.event_id == first), None)


def _draw_result(envelope: Envelope, repeated: bool) -> dict[str, Any]:
    data = InspectionSampleDrawn.model_validate(envelope.data)
    return DrawResult(
        period=data.period,
        seed=data.seed,
        share=data.share,
        minimum=data.minimum,
        checklist_version=data.checklist_version,
        population=data.population,
        cases=data.cases,
        event_id=envelope.event_id,
        recorded_at=envelope.recorded_at,
        repeated=repeated,
    ).model_dump(mode="json")


async def draw(
    store: PostgresEventStore, settings: Settings, cmd: DrawInspection, now: Now = utcnow
) -> dict[str, Any]:
    async def attempt() -> dict[str, Any]:
        async with store.unit_of_work() as uow:
            assert isinstance(uow, PgUnitOfWork)
            history = await uow.read_stream(stream_of(cmd.period))
            done = _earlier(history, cmd)
            if done is not None:
                return _draw_result(done, repeated=True)
            state = replay(history)
            at = now()
            frm, to = month_window(cmd.period)
            # As of the transaction's start, which is the draw's recorded_at:
            # a redraw to verify reads the population as of that instant.
            as_of = await uow.connection.fetchval("SELECT now()")
            population = [] if state.drawn else await closed_cases(uow.connection, frm, to, as_of)
            ctx = DrawContext(
                now=at,
                share=settings.quality.inspection_share,
                minimum=settings.quality.inspection_minimum,
                checklist_version=checklists().current.version,
                fresh_seed=secrets.randbelow(MAX_SEED + 1),
            )
            new = decide_draw(state, cmd, population, ctx)
            [stored] = await uow.append(stream_of(cmd.period), state.version, new)
            uow.defer(lambda conn: records.insert_sample(conn, stored))
            return _draw_result(stored, repeated=False)

    return await _retrying(attempt)


async def review(
    store: PostgresEventStore, executor: CommandExecutor, cmd: ReviewInspection, now: Now = utcnow
) -> dict[str, Any]:
    async def attempt() -> dict[str, Any]:
        async with store.unit_of_work() as uow:
            history = await uow.read_stream(stream_of(cmd.period))
            done = _earlier(history, cmd)
            if done is not None:
                return _review_result(done, [], None, repeated=True)
            state: InspectionState = replay(history)
            version = state.drawn.checklist_version if state.drawn else 1
            decision = decide_review(state, cmd, checklists().version(version).rule(), now())
            [stored] = await uow.append(stream_of(cmd.period), state.version, decision.events)
            case_events: list[str] = []
            case_status = None
            if decision.case_command is not None:
                # The review and its action on the case: both stored, or neither.
                outcome = await executor.execute_in(uow, cmd.complaint_id, decision.case_command)
                case_events = [e.type for e in outcome.events]
                case_status = outcome.state.status.value if outcome.state.status else None
            assert isinstance(uow, PgUnitOfWork)
            uow.defer(lambda conn: records.record_review(conn, stored))
            return _review_result(stored, case_events, case_status, repeated=False)

    return await _retrying(attempt)


def _review_result(
    envelope: Envelope, case_events: list[str], case_status: str | None, *, repeated: bool
) -> dict[str, Any]:
    data = InspectionReviewed.model_validate(envelope.data)
    return ReviewResult(
        period=data.period,
        complaint_id=uuid.UUID(data.complaint_id),
        score=data.score,
        passed=data.passed,
        action=data.action,
        event_id=envelope.event_id,
        recorded_at=envelope.recorded_at,
        case_events=case_events,
        case_status=case_status,
        repeated=repeated,
    ).model_dump(mode="json")


def draw_request(store: PostgresEventStore, settings: Settings) -> Request[DrawInspection]:
    return Request(
        DrawInspection.model_validate,
        lambda cmd: draw(store, settings, cmd),
        failed="the inspection sample could not be drawn",
        title=METRICS.requests["inspection-draw"].title,
        context=lambda cmd: {"period": cmd.period},
    )


def review_request(
    store: PostgresEventStore, executor: CommandExecutor
) -> Request[ReviewInspection]:
    return Request(
        ReviewInspection.model_validate,
        lambda cmd: review(store, executor, cmd),
        failed="the inspection review could not be stored",
        title=METRICS.requests["inspection-review"].title,
        context=lambda cmd: {"period": cmd.period, "complaint_id": str(cmd.complaint_id)},
    )
