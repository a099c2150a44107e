"""The domain side of the worklists (docs/supervision-web.md): a supervisor's
manual 督办 with its reason and answer-by date, the projections the follow-up
and supervision worklists read, and a 监督举报 naming an earlier complaint."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.domain_kit import CALENDAR, HANDLER, OTHER_HANDLER, SUPERVISOR, SYSTEM, Case
from tousu.services.metrics.projections import CaseView, SupervisionItems
from tousu.shared.domain import commands as c
from tousu.shared.domain.decide import MANUAL_SUPERVISION
from tousu.shared.domain.errors import IllegalTransition, InvalidCommand
from tousu.shared.events import EventData
from tousu.shared.events import types as ev


def _supervise(case: Case, **fields: object) -> list[EventData]:
    fields.setdefault("kind", MANUAL_SUPERVISION)
    return case.do(c.RaiseSupervision, SUPERVISOR, **fields)


def test_a_manual_supervision_records_its_reason_and_date() -> None:
    case = Case().in_handling()
    by = case.at + timedelta(days=3)
    (raised,) = _supervise(case, note="三天内答复群众", respond_by=by)
    assert isinstance(raised, ev.SupervisionRaised)
    assert (raised.kind, raised.note, raised.respond_by) == ("manual", "三天内答复群众", by)


def test_a_manual_supervision_needs_a_reason() -> None:
    case = Case().in_handling()
    with pytest.raises(InvalidCommand) as refused:
        _supervise(case, note="  ")
    assert refused.value.field == "note"


def test_the_answer_date_cannot_lie_before_the_supervision() -> None:
    case = Case().in_handling()
    with pytest.raises(InvalidCommand) as refused:
        _supervise(case, note="督办", respond_by=case.at - timedelta(hours=1))
    assert refused.value.field == "respond_by"


def test_the_answer_date_is_bounded_like_every_instant() -> None:
    with pytest.raises(ValueError, match="respond_by"):
        c.RaiseSupervision(
            actor=SUPERVISOR,
            occurred_at=Case().at,
            kind="manual",
            note="督办",
            respond_by="3026-01-01T00:00:00+08:00",
        )


def test_a_finished_case_is_not_supervised_by_hand() -> None:
    case = Case().in_handling().resolve().feedback().follow_up("satisfied")
    with pytest.raises(IllegalTransition):
        _supervise(case, note="督办")
    # The watcher's and other kinds keep their rules (any state).
    assert case.do(c.RaiseSupervision, SYSTEM, kind="chase")


def test_open_supervision_items() -> None:
    """Open: the case not finished; a deadline notice only while its deadline is owed."""
    case = Case().in_handling()
    _supervise(case, note="请加快办理", respond_by=case.at + timedelta(days=2))
    feedback_due = case.state.deadlines[ev.DeadlineKind.FEEDBACK].due_at
    case.do(c.RaiseSupervision, SYSTEM, kind="warning", deadline="feedback", due_at=feedback_due)
    items = SupervisionItems()

    def open_kinds() -> dict[str, bool]:
        rows = items.rows(case.envelopes, CALENDAR)
        return {r[items.columns.index("kind")]: r[items.columns.index("open")] for r in rows}

    assert open_kinds() == {"manual": True, "warning": True}
    case.resolve().feedback()  # the feedback deadline is met: its warning is settled
    assert open_kinds() == {"manual": True, "warning": False}
    case.follow_up("satisfied")  # closed: nothing stays open
    assert open_kinds() == {"manual": False, "warning": False}


def test_case_view_counts_the_follow_up_attempts() -> None:
    case = Case().in_handling().resolve().feedback()
    view = CaseView()

    def row() -> dict[str, object]:
        (only,) = view.rows(case.envelopes, CALENDAR)
        return dict(zip(view.columns, only, strict=True))

    assert (row()["follow_up_attempts"], row()["last_follow_up_at"]) == (0, None)
    case.follow_up("unreachable")
    first = case.at
    case.follow_up("unreachable")
    assert (row()["follow_up_attempts"], row()["last_follow_up_at"]) == (2, case.at)
    assert row()["status"] == "fed_back" and "follow_up" in row()["pending"]  # type: ignore[operator]
    assert first < case.at


def test_a_report_names_the_earlier_complaint() -> None:
    earlier = str(uuid.uuid4())
    case = Case().submit(related_tracking_no="TS2603-12345-67890", related_complaint_id=earlier)
    (received,) = [decode for decode in case.envelopes if decode.type == "ComplaintReceived"]
    assert received.data["related_complaint_id"] == earlier
    assert received.data["related_tracking_no"] == "TS2603-12345-67890"
    view = CaseView()
    (row,) = view.rows(case.envelopes, CALENDAR)
    assert row[view.columns.index("related_complaint_id")] == uuid.UUID(earlier)


def test_a_report_naming_no_complaint_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        Case().submit(related_tracking_no="TS2603-12345-67890")
    assert refused.value.field == "related_tracking_no"


def test_an_arbitration_notice_is_settled_once_the_office_routes_the_case() -> None:
    case = Case().submit().accept().route("water")
    items = SupervisionItems()
    for department in ("water", "transport"):
        if department == "transport":
            case.route("transport")
        actor = HANDLER if department == "water" else OTHER_HANDLER
        case.do(c.ReturnCase, actor, reason="不属于本部门", basis="三定方案")
    rows = items.rows(case.envelopes, CALENDAR)
    kind, is_open = items.columns.index("kind"), items.columns.index("open")
    assert [(r[kind], r[is_open]) for r in rows] == [("arbitration", True)]
    case.route("water", actor=SUPERVISOR)  # the office arbitrates
    rows = items.rows(case.envelopes, CALENDAR)
    assert [(r[kind], r[is_open]) for r in rows] == [("arbitration", False)]
