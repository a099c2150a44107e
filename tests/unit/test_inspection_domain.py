"""The quality inspection decided: the draw (seeded, reproducible; reopened
and late-entry cases always in; minimum, share and cap) and the decider's
refusals of draws and reviews."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tousu.services.metrics.inspection.checklist import Checklists, checklists, from_yaml
from tousu.shared.datafiles import DataFileError
from tousu.shared.domain import commands as c
from tousu.shared.domain.errors import Forbidden, InvalidCommand, NotFound
from tousu.shared.domain.inspection import (
    DrawContext,
    DrawInspection,
    InspectionState,
    ItemScore,
    PopulationCase,
    ReviewInspection,
    decide_draw,
    decide_review,
    draw_sample,
    month_window,
    replay,
    sample_size,
)
from tousu.shared.events import Actor, stored, utcnow

SUPERVISOR = Actor(id="sup", role="supervisor")
HANDLER = Actor(id="h", role="handler", department="water")
NOW = datetime(2026, 6, 3, 2, tzinfo=UTC)
RULE = checklists().current.rule()


def population(n: int, department: str = "water", **flags: set[int]) -> list[PopulationCase]:
    return [
        PopulationCase(
            complaint_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{department}/{i}")),
            department=department,
            tracking_no=f"T{i}",
            reopened=i in flags.get("reopened", set()),
            late_entry=i in flags.get("late", set()),
        )
        for i in range(n)
    ]


def ctx(**kw: object) -> DrawContext:
    base: dict[str, object] = dict(
        now=NOW, share=0.1, minimum=2, checklist_version=RULE.version, fresh_seed=99
    )
    base.update(kw)
    return DrawContext(**base)  # type: ignore[arg-type]


# -- the draw ---------------------------------------------------------------------------
def test_same_seed_same_draw_whatever_the_population_order() -> None:
    cases = population(40) + population(25, "roads")
    first, sizes = draw_sample(cases, seed=7, period="2026-05", share=0.1, minimum=2)
    again, _ = draw_sample(list(reversed(cases)), seed=7, period="2026-05", share=0.1, minimum=2)
    other, _ = draw_sample(cases, seed=8, period="2026-05", share=0.1, minimum=2)
    assert first == again
    assert {s.complaint_id for s in first} != {s.complaint_id for s in other}
    assert sizes == {"roads": 25, "water": 40}
    assert sum(s.department == "water" for s in first) == 4  # ceil(0.1 × 40)
    assert sum(s.department == "roads" for s in first) == 3  # ceil(2.5)


def test_a_departments_draw_depends_only_on_its_own_cases() -> None:
    water = population(30)
    alone, _ = draw_sample(water, seed=1, period="2026-05", share=0.2, minimum=1)
    together, _ = draw_sample(
        water + population(50, "roads"), seed=1, period="2026-05", share=0.2, minimum=1
    )
    assert alone == [s for s in together if s.department == "water"]


def test_reopened_and_late_entry_cases_are_always_in() -> None:
    cases = population(100, reopened={3, 50}, late={50, 77})
    drawn, _ = draw_sample(cases, seed=5, period="2026-05", share=0.01, minimum=0)
    reasons = {s.tracking_no: s.reasons for s in drawn}
    assert "reopened" in reasons["T3"] and "reopened" in reasons["T50"]
    assert "late_entry" in reasons["T50"] and "late_entry" in reasons["T77"]
    assert sum("random" in r for r in reasons.values()) == 1
    assert all(r for r in reasons.values())


@pytest.mark.parametrize(
    ("n", "share", "minimum", "size"),
    [
        (0, 0.1, 2, 0),
        (1, 0.1, 2, 1),
        (5, 0.1, 2, 2),
        (30, 0.1, 2, 3),
        (31, 0.1, 2, 4),
        (10, 1.0, 2, 10),
        (10, 0.1, 20, 10),
        (100, 0.05, 0, 5),
    ],
)
def test_size_is_the_minimum_or_the_share_capped_at_the_population(
    n: int, share: float, minimum: int, size: int
) -> None:
    assert sample_size(n, share, minimum) == size
    drawn, _ = draw_sample(population(n), seed=3, period="2026-05", share=share, minimum=minimum)
    assert len(drawn) == size


def test_the_month_is_shanghai_time() -> None:
    assert month_window("2026-12") == (
        datetime(2026, 11, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )


# -- the draw's refusals -----------------------------------------------------------------
def test_only_the_supervision_office_draws() -> None:
    with pytest.raises(Forbidden):
        decide_draw(InspectionState(), DrawInspection(actor=HANDLER, period="2026-05"), [], ctx())


def test_a_month_not_yet_ended_is_refused_at_the_period() -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide_draw(
            InspectionState(), DrawInspection(actor=SUPERVISOR, period="2026-06"), [], ctx()
        )
    assert refused.value.field == "period"


@pytest.mark.parametrize("period", ["0000-01", "2003-12", "2100-01"])
def test_a_month_outside_the_calendars_years_is_refused_at_the_period(period: str) -> None:
    """Year 0 once reached the month's window and failed there: a 503 (found by
    schemathesis). It is refused as any instant out of range is."""
    with pytest.raises(ValidationError) as refused:
        DrawInspection(actor=SUPERVISOR, period=period)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("period",), "instant_out_of_range")


def drawn_state(cases: list[PopulationCase], seed: int = 11) -> InspectionState:
    [event] = decide_draw(
        InspectionState(),
        DrawInspection(actor=SUPERVISOR, period="2026-05", seed=seed, minimum=3),
        cases,
        ctx(),
    )
    return replay(
        [
            stored(
                event,
                stream_id="inspection-2026-05",
                version=1,
                global_position=1,
                recorded_at=utcnow(),
            )
        ]
    )


def test_a_month_is_drawn_once_and_the_defaults_and_seed_are_recorded() -> None:
    state = drawn_state(population(10))
    assert state.drawn is not None
    assert (state.drawn.seed, state.drawn.share, state.drawn.minimum) == (11, 0.1, 3)
    assert len(state.drawn.cases) == 3
    with pytest.raises(InvalidCommand, match="drawn already") as refused:
        decide_draw(state, DrawInspection(actor=SUPERVISOR, period="2026-05"), [], ctx())
    assert refused.value.field == "period"
    [event] = decide_draw(
        InspectionState(),
        DrawInspection(actor=SUPERVISOR, period="2026-05"),
        [],
        ctx(fresh_seed=12345),
    )
    assert event.data["seed"] == 12345 and event.department == "supervision"


# -- the review ----------------------------------------------------------------------------
def full(points: dict[str, float] | None = None) -> list[ItemScore]:
    points = points or {}
    return [ItemScore(item=code, points=points.get(code, m)) for code, m in RULE.max_points.items()]


def review(state: InspectionState, **kw: object) -> ReviewInspection:
    assert state.drawn is not None
    fields: dict[str, object] = dict(
        actor=SUPERVISOR,
        period="2026-05",
        complaint_id=uuid.UUID(state.drawn.cases[0].complaint_id),
        scores=full(),
    )
    fields.update(kw)
    return ReviewInspection.model_validate(fields)


def test_a_review_scores_against_the_checklist_and_passes_at_the_mark() -> None:
    state = drawn_state(population(5))
    decision = decide_review(state, review(state), RULE, NOW)
    [event] = decision.events
    assert event.data["score"] == 100 and event.data["passed"] is True
    assert decision.case_command is None and event.department == "supervision"
    # 21 points short of 100 is 79 %: under the pass mark of 80.
    low = full({"result_answers_demands": 0, "basis_sound": 4})
    failed = decide_review(
        state, review(state, scores=low, action="reopen", reason="未回应诉求"), RULE, NOW
    )
    assert failed.events[0].data["score"] == 79 and failed.events[0].data["passed"] is False
    assert isinstance(failed.case_command, c.ReopenComplaint)
    assert "未回应诉求" in failed.case_command.reason
    supervise = decide_review(
        state, review(state, scores=low, action="supervise", reason="督促整改"), RULE, NOW
    )
    assert isinstance(supervise.case_command, c.RaiseSupervision)
    assert supervise.case_command.kind == "inspection"
    assert supervise.case_command.correlation_id == supervise.events[0].correlation_id


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"actor": HANDLER}, Forbidden, None),
        ({"complaint_id": uuid.uuid4()}, InvalidCommand, "complaint_id"),
        (
            {"scores": [*full()[:-1], ItemScore(item="nonsense", points=1)]},
            InvalidCommand,
            "scores.9.item",
        ),
        ({"scores": full()[:-1]}, InvalidCommand, "scores"),
        ({"scores": [*full(), full()[0]]}, InvalidCommand, "scores.10.item"),
        ({"scores": full({"reply_clear": 11})}, InvalidCommand, "scores.8.points"),
        ({"scores": full({"reply_clear": -1})}, InvalidCommand, "scores.8.points"),
        ({"action": "reopen", "reason": "x"}, InvalidCommand, "action"),
        (
            {
                "scores": full({"basis_sound": 0, "reply_clear": 0, "follow_up_done": 0}),
                "action": "supervise",
            },
            InvalidCommand,
            "reason",
        ),
        ({"occurred_at": datetime(2026, 5, 1, tzinfo=UTC)}, InvalidCommand, "occurred_at"),
    ],
)
def test_review_refusals_name_the_field(
    change: dict[str, object], error: type[Exception], field: str | None
) -> None:
    state = drawn_state(population(5))
    with pytest.raises(error) as refused:
        decide_review(state, review(state, **change), RULE, NOW)
    if field is not None:
        assert isinstance(refused.value, InvalidCommand) and refused.value.field == field


def test_no_draw_no_review_and_one_review_per_case() -> None:
    state = drawn_state(population(5))
    with pytest.raises(NotFound):
        decide_review(InspectionState(), review(state), RULE, NOW)
    [event] = decide_review(state, review(state), RULE, NOW).events
    after = replay(
        [
            stored(
                e,
                stream_id="inspection-2026-05",
                version=i + 1,
                global_position=i + 1,
                recorded_at=utcnow(),
            )
            for i, e in enumerate(
                [
                    decide_draw(
                        InspectionState(),
                        DrawInspection(actor=SUPERVISOR, period="2026-05", seed=11, minimum=3),
                        population(5),
                        ctx(),
                    )[0],
                    event,
                ]
            )
        ]
    )
    with pytest.raises(InvalidCommand, match="reviewed already") as refused:
        decide_review(after, review(state), RULE, NOW)
    assert refused.value.field == "complaint_id"


# -- the checklist file --------------------------------------------------------------------
def test_the_packaged_checklist_covers_the_three_headings_out_of_100() -> None:
    current = checklists().current
    assert current.total == 100 and current.pass_mark == 80
    assert [g for g, items in current.grouped() if items] == ["process", "result", "reply"]


def test_a_bad_checklist_file_lists_its_problems() -> None:
    text = """
checklists:
  - version: 1
    pass_mark: 120
    items:
      - {code: a, group: process, max_points: 10, zh: 甲, en: A, guidance: g}
      - {code: a, group: result, max_points: 10, zh: 乙, en: B, guidance: g}
"""
    with pytest.raises(DataFileError) as bad:
        from_yaml(text)
    assert any("pass_mark" in p for p in bad.value.problems)
    assert isinstance(checklists(), Checklists)


def test_verification_names_what_differs() -> None:
    from tousu.services.metrics.inspection.verify import Verification

    cases = population(6)
    recorded, sizes = draw_sample(cases, seed=4, period="2026-05", share=0.5, minimum=1)
    same = Verification("2026-05", 4, recorded, list(reversed(recorded)), sizes, dict(sizes))
    assert same.same and same.missing == [] and same.extra == []
    # A case closed after the draw but recorded as before it would change the redraw.
    redrawn, bigger = draw_sample(
        [*cases, *population(1, "roads")], seed=4, period="2026-05", share=0.5, minimum=1
    )
    differs = Verification("2026-05", 4, recorded, redrawn, sizes, bigger)
    assert not differs.same and differs.missing == []
    assert differs.extra == [s.complaint_id for s in redrawn if s.department == "roads"]
