"""The complaint state machine: every legal and illegal transition, pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.domain_kit import (
    COMPLAINANT,
    DEPT_HEAD,
    HANDLER,
    OPERATOR,
    OTHER_HANDLER,
    SUPERVISOR,
    SYSTEM,
    Case,
)
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import (
    Forbidden,
    IllegalTransition,
    InvalidCommand,
    NotFound,
    Status,
)
from tousu.shared.events import types as ev
from tousu.shared.events.types import DeadlineKind, PlanMeasure

END_OF_DAY = (23, 59, 59, 999999)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, *END_OF_DAY, tzinfo=TZ)


# -- the happy path and the worked examples of docs/design.md, "Deadlines" ---
def test_happy_path_to_closed() -> None:
    case = Case().submit()
    assert case.state.status == Status.RECEIVED
    steps: list[tuple[Callable[[], Any], Status]] = [
        (case.accept, Status.ACCEPTED),
        (case.route, Status.ROUTED),
        (case.claim, Status.CLAIMED),
        (case.investigate, Status.IN_HANDLING),
        (
            lambda: case.do(
                c.ProposePlan, HANDLER, measures=[PlanMeasure(measure="公告", owner="h-zhao")]
            ),
            Status.IN_HANDLING,
        ),
        (lambda: case.do(c.RecordConsultation, HANDLER, agrees=True), Status.IN_HANDLING),
        (lambda: case.do(c.ReportProgress, DEPT_HEAD, progress="已排查"), Status.IN_HANDLING),
        (case.resolve, Status.RESOLVED),
        (case.feedback, Status.FED_BACK),
        (lambda: case.follow_up("satisfied"), Status.CLOSED),
    ]
    for step, expected in steps:
        step()
        assert case.state.status == expected
    types = [e.type for e in case.envelopes]
    assert types[-4:] == [
        "ResultFeedbackSent",
        "FollowUpScheduled",
        "ComplaintFollowedUp",
        "ComplaintClosed",
    ]
    assert [e.version for e in case.envelopes] == list(range(1, len(types) + 1))
    routed = next(e for e in case.envelopes if e.type == "ComplaintRouted")
    assert routed.department == "water"
    assert all(e.department == "water" for e in case.envelopes[routed.version - 1 :])
    assert all(e.department is None for e in case.envelopes[: routed.version - 1])


def test_deadlines_follow_the_working_day_calendar() -> None:
    received = datetime(2026, 2, 13, 17, 0, tzinfo=TZ)
    case = Case(at=received).submit(occurred_at=received)
    assert case.state.deadlines[DeadlineKind.ACCEPTANCE].due_at == end_of(2026, 2, 24)
    accepted_at = datetime(2026, 9, 18, 10, 0, tzinfo=TZ)
    (accepted,) = case.do(
        c.AcceptComplaint, OPERATOR, category="service_quality", occurred_at=accepted_at
    )
    assert isinstance(accepted, ev.ComplaintAccepted)
    assert accepted.feedback_deadline.due_at == end_of(2026, 10, 15)
    assert not accepted.feedback_deadline.provisional
    assert case.state.promised_feedback == accepted.feedback_deadline
    case.route()
    claim = case.state.deadlines[DeadlineKind.CLAIM]
    assert claim.working_days == 1


def test_a_december_acceptance_has_a_provisional_feedback_deadline() -> None:
    at = datetime(2026, 12, 20, 10, 0, tzinfo=TZ)
    case = Case(at=at).submit(occurred_at=at)
    case.accept()
    assert case.state.deadlines[DeadlineKind.FEEDBACK].provisional


# -- intake ---------------------------------------------------------------------
def test_rejection_carries_reason_suggestion_and_notice() -> None:
    case = Case().submit()
    (rejected,) = case.do(
        c.RejectComplaint,
        OPERATOR,
        reason="属于劳动争议",
        suggestion="请向劳动人事争议仲裁委员会申请仲裁",
    )
    assert isinstance(rejected, ev.ComplaintRejected)
    assert "劳动人事争议仲裁委员会" in rejected.notice_text
    assert case.state.status == Status.REJECTED
    with pytest.raises(IllegalTransition) as info:
        case.accept()
    assert info.value.details["current_state"] == "rejected"


def test_a_command_is_refused_before_the_complaint_exists() -> None:
    with pytest.raises(NotFound):
        Case().accept()


def test_times_in_the_future_or_before_receipt_are_refused() -> None:
    case = Case().submit()
    with pytest.raises(InvalidCommand):
        case.do(c.AcceptComplaint, OPERATOR, category="x", occurred_at=case.at - timedelta(days=1))
    case.now = case.at + timedelta(hours=1)
    with pytest.raises(InvalidCommand):
        case.do(
            c.AcceptComplaint, OPERATOR, category="x", occurred_at=case.at + timedelta(days=999)
        )


def test_resent_command_with_the_same_id_gives_the_same_event_ids() -> None:
    import uuid

    from tousu.shared.domain.complaint import ComplaintState, decide

    case = Case()
    command = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=case.at,
        command_id=uuid.uuid4(),
        tracking_no="TS1",
        channel=ev.Channel.WEB,
        complainant=ev.Complainant(anonymous=True),
        subject="s",
        description="d",
    )
    first = decide(ComplaintState(), command, case.context())
    again = decide(ComplaintState(), command, case.context())
    assert [e.event_id for e in first] == [e.event_id for e in again]


# -- routing: claim, return, arbitration -----------------------------------------
def test_return_reroute_second_return_and_arbitration() -> None:
    case = Case().submit().accept().route("water")
    case.do(c.ReturnCase, HANDLER, reason="不属于本部门职责", basis="三定方案")
    assert case.state.status == Status.RETURNED
    assert case.state.department is None
    with pytest.raises(InvalidCommand):  # water returned it: not back to water
        case.route("water")
    case.route("transport")
    out = case.do(c.ReturnCase, OTHER_HANDLER, reason="非我部门", basis="职责清单")
    assert [type(e).__name__ for e in out] == ["CaseReturned", "SupervisionRaised"]
    assert isinstance(out[1], ev.SupervisionRaised) and out[1].kind == "arbitration"
    assert case.state.needs_arbitration
    with pytest.raises(Forbidden):
        case.route("service_center", actor=OPERATOR)
    case.route("water", actor=SUPERVISOR)  # arbitration may send it anywhere
    assert case.state.status == Status.ROUTED and not case.state.needs_arbitration
    case.claim()
    assert case.state.handler == "h-zhao"


def test_return_is_refused_after_the_two_day_window() -> None:
    case = Case().submit().accept().route("water")
    late = case.state.deadlines[DeadlineKind.RETURN].due_at + timedelta(seconds=1)
    with pytest.raises(IllegalTransition, match="return window"):
        case.do(c.ReturnCase, HANDLER, reason="r", basis="b", occurred_at=late)


def test_departments_are_confined_to_their_own_cases() -> None:
    case = Case().submit().accept().route("water")
    with pytest.raises(NotFound):
        case.claim(OTHER_HANDLER)
    with pytest.raises(Forbidden):
        case.claim(OPERATOR)
    with pytest.raises(Forbidden):
        case.do(c.DecideExtension, HANDLER, approved=True)
    case.claim(DEPT_HEAD)


# -- extensions -------------------------------------------------------------------
def test_extension_approved_moves_the_feedback_deadline() -> None:
    case = Case().in_handling()
    before = case.state.deadlines[DeadlineKind.FEEDBACK]
    case.do(c.RequestExtension, HANDLER, working_days=5, reason="需第三方检测")
    assert case.state.status == Status.EXTENSION_PENDING
    case.do(c.ReportProgress, HANDLER, progress="检测中")  # work goes on meanwhile
    with pytest.raises(IllegalTransition, match="extension"):
        case.resolve()
    (decided,) = case.do(c.DecideExtension, SUPERVISOR, approved=True, reason="同意")
    assert isinstance(decided, ev.ExtensionDecided) and decided.feedback_deadline is not None
    assert decided.feedback_deadline.due_at > before.due_at
    assert decided.feedback_deadline.working_days == before.working_days + 5
    assert decided.notice_text
    assert case.state.status == Status.IN_HANDLING
    assert case.state.promised_feedback == before
    # 5 approved; 6 more would pass the 10-day total
    with pytest.raises(InvalidCommand):
        case.do(c.RequestExtension, HANDLER, working_days=6, reason="r")
    case.do(c.RequestExtension, HANDLER, working_days=5, reason="r")


def test_extension_refused_keeps_the_deadline() -> None:
    case = Case().in_handling()
    before = case.state.deadlines[DeadlineKind.FEEDBACK]
    case.do(c.RequestExtension, HANDLER, working_days=3, reason="r")
    case.do(c.DecideExtension, SUPERVISOR, approved=False, reason="理由不充分")
    assert case.state.deadlines[DeadlineKind.FEEDBACK] == before
    assert case.state.status == Status.IN_HANDLING
    assert case.state.extension_days == 0


# -- follow-up and re-handling ---------------------------------------------------------
def test_dissatisfied_reopens_with_a_new_round_then_closes_when_satisfied() -> None:
    case = Case().in_handling().resolve().feedback()
    first_feedback = case.state.deadlines[DeadlineKind.FEEDBACK]
    three_days_later = case.at + timedelta(days=3)
    case.do(c.RecordFollowUp, OPERATOR, satisfaction="dissatisfied", occurred_at=three_days_later)
    assert case.state.status == Status.REOPENED
    assert case.state.round == 2
    assert case.state.department == "water"
    assert case.state.deadlines[DeadlineKind.FEEDBACK].due_at > first_feedback.due_at
    case.handle().resolve().feedback()
    resolved = [e for e in case.envelopes if e.type == "ComplaintResolved"]
    assert [e.data["round"] for e in resolved] == [1, 2]
    case.follow_up("basically_satisfied", actor=COMPLAINANT)
    assert case.state.status == Status.CLOSED


def test_third_dissatisfied_round_raises_supervision() -> None:
    case = Case().in_handling()
    for round_ in range(3):
        if round_:
            case.handle()  # each reopened round is handled afresh
        case.resolve().feedback()
        out = case.do(c.RecordFollowUp, OPERATOR, satisfaction="dissatisfied", comment="仍未解决")
        kinds = [type(e).__name__ for e in out]
        if round_ < 2:
            assert "SupervisionRaised" not in kinds
        else:
            assert kinds[-1] == "SupervisionRaised"
    assert case.state.round == 4


def test_unreachable_three_times_closes() -> None:
    case = Case().in_handling().resolve().feedback()
    case.follow_up("unreachable").follow_up("unreachable")
    assert case.state.status == Status.FED_BACK
    case.follow_up("unreachable")
    assert case.state.status == Status.CLOSED


def test_supervisor_may_reopen_a_closed_case() -> None:
    case = Case().in_handling().resolve().feedback().follow_up("satisfied")
    with pytest.raises(Forbidden):
        case.do(c.ReopenComplaint, OPERATOR, reason="r")
    case.do(c.ReopenComplaint, SUPERVISOR, reason="监督检查发现处理不当")
    assert case.state.status == Status.REOPENED and case.state.round == 2


# -- duplicates ------------------------------------------------------------------------
def test_merge_and_unmerge() -> None:
    primary = Case().submit().accept()
    duplicate = Case().submit()
    link = {
        "primary_complaint_id": str(primary.complaint_id),
        "duplicate_complaint_id": str(duplicate.complaint_id),
    }
    duplicate.do(c.LinkDuplicate, OPERATOR, **link)
    primary.do(c.LinkDuplicate, OPERATOR, **link)
    assert duplicate.state.status == Status.MERGED
    assert primary.state.duplicates == (str(duplicate.complaint_id),)
    with pytest.raises(IllegalTransition):
        duplicate.accept()
    duplicate.do(c.LinkDuplicate, OPERATOR, linked=False, **link)
    primary.do(c.LinkDuplicate, OPERATOR, linked=False, **link)
    assert duplicate.state.status == Status.RECEIVED
    assert primary.state.duplicates == ()
    duplicate.accept()
    with pytest.raises(IllegalTransition):  # not linked any more
        primary.do(c.LinkDuplicate, OPERATOR, linked=False, **link)


# -- the whole matrix ----------------------------------------------------------------------
def _reach(status: Status) -> Case:
    case = Case()
    match status:
        case Status.RECEIVED:
            case.submit()
        case Status.ACCEPTED:
            case.submit().accept()
        case Status.REJECTED:
            case.submit().do(c.RejectComplaint, OPERATOR, reason="r", suggestion="s")
        case Status.ROUTED:
            case.submit().accept().route()
        case Status.RETURNED:
            case.submit().accept().route().do(c.ReturnCase, HANDLER, reason="r", basis="b")
        case Status.CLAIMED:
            case.submit().accept().route().claim()
        case Status.IN_HANDLING:
            case.in_handling()
        case Status.EXTENSION_PENDING:
            case.in_handling().do(c.RequestExtension, HANDLER, working_days=2, reason="r")
        case Status.RESOLVED:
            case.in_handling().resolve()
        case Status.FED_BACK:
            case.in_handling().resolve().feedback()
        case Status.REOPENED:
            case.in_handling().resolve().feedback().follow_up("dissatisfied")
        case Status.CLOSED:
            case.in_handling().resolve().feedback().follow_up("satisfied")
        case Status.MERGED:
            case.submit()
            case.do(
                c.LinkDuplicate,
                OPERATOR,
                primary_complaint_id="00000000-0000-0000-0000-000000000001",
                duplicate_complaint_id=str(case.complaint_id),
            )
    assert case.state.status == status
    return case


S = Status
WORKING = {S.CLAIMED, S.IN_HANDLING, S.REOPENED, S.EXTENSION_PENDING}
# A claimed or reopened case has had no handling step in its round yet: the
# plan, the consultation, progress and the result need the earlier steps
# (tests of the order below). _reach's in-handling case has had them all.
HANDLED = {S.IN_HANDLING, S.EXTENSION_PENDING}
ALL = set(Status)
MATRIX: list[tuple[str, type[c.Command], Any, dict[str, Any], set[Status]]] = [
    ("accept", c.AcceptComplaint, OPERATOR, {"category": "x"}, {S.RECEIVED}),
    ("reject", c.RejectComplaint, OPERATOR, {"reason": "r", "suggestion": "s"}, {S.RECEIVED}),
    ("route", c.RouteComplaint, OPERATOR, {"department": "transport"},
     {S.ACCEPTED, S.ROUTED, S.RETURNED}),
    ("claim", c.ClaimCase, HANDLER, {}, {S.ROUTED}),
    ("return", c.ReturnCase, HANDLER, {"reason": "r", "basis": "b"}, {S.ROUTED, S.CLAIMED}),
    ("investigation", c.RecordInvestigation, HANDLER, {"findings": "f"}, WORKING),
    ("plan", c.ProposePlan, HANDLER, {"measures": [PlanMeasure(measure="m", owner="o")]}, HANDLED),
    ("consultation", c.RecordConsultation, HANDLER, {"agrees": True}, HANDLED),
    ("progress", c.ReportProgress, HANDLER, {"progress": "p"}, HANDLED),
    ("extension", c.RequestExtension, HANDLER, {"working_days": 1, "reason": "r"},
     {S.CLAIMED, S.IN_HANDLING, S.REOPENED}),
    ("extension-decision", c.DecideExtension, SUPERVISOR, {"approved": True},
     {S.EXTENSION_PENDING}),
    ("resolve", c.ResolveComplaint, HANDLER, {"result": "r", "basis": "b"}, {S.IN_HANDLING}),
    ("feedback", c.SendFeedback, HANDLER, {}, {S.RESOLVED}),
    ("follow-up", c.RecordFollowUp, OPERATOR, {"satisfaction": "satisfied"}, {S.FED_BACK}),
    ("reopen", c.ReopenComplaint, SUPERVISOR, {"reason": "r"}, {S.FED_BACK, S.CLOSED}),
    ("supervise", c.RaiseSupervision, SYSTEM, {"kind": "chase"}, ALL),
]  # fmt: skip


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("row", MATRIX, ids=lambda r: r[0])
def test_transition_matrix(status: Status, row: tuple[Any, ...]) -> None:
    _, command, actor, fields, allowed = row
    case = _reach(status)
    before = case.state
    if status in allowed:
        assert case.do(command, actor, **fields)
    else:
        # Department commands on a case no department holds are "not found" for them.
        with pytest.raises((IllegalTransition, NotFound)):
            case.do(command, actor, **fields)
        assert case.state == before


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_merge_as_duplicate_matrix(status: Status) -> None:
    case = _reach(status)
    link = {
        "primary_complaint_id": "00000000-0000-0000-0000-000000000002",
        "duplicate_complaint_id": str(case.complaint_id),
    }
    if status in {S.REJECTED, S.CLOSED, S.MERGED}:
        with pytest.raises(IllegalTransition):
            case.do(c.LinkDuplicate, OPERATOR, **link)
    else:
        case.do(c.LinkDuplicate, OPERATOR, **link)
        assert case.state.status == Status.MERGED


def test_submit_twice_is_illegal() -> None:
    case = Case().submit()
    with pytest.raises(IllegalTransition):
        case.submit()


# -- the service-commitment register drives the limits --------------------------------
def test_a_service_items_limits_and_register_version_apply() -> None:
    from dataclasses import replace

    from tousu.shared.application.context_source import ContextSource
    from tousu.shared.intake.commitments import CommitmentRegister
    from tousu.shared.settings import Settings

    register = CommitmentRegister.load()
    item = next(i for i in register.items if register.limits_for(i.code).feedback_days == 5)
    source = ContextSource.for_settings(Settings())
    at = datetime(2026, 9, 18, 10, 0, tzinfo=TZ)  # Friday, before National Day
    case = Case(at=at)
    case.context = lambda: replace(source(), now=case.at)  # type: ignore[method-assign]
    case.submit(occurred_at=at, service_item=item.code)
    assert case.state.deadlines[DeadlineKind.ACCEPTANCE].working_days == 1
    (accepted,) = case.do(c.AcceptComplaint, OPERATOR, category="service_result", occurred_at=at)
    assert isinstance(accepted, ev.ComplaintAccepted)
    assert accepted.service_item == item.code
    assert accepted.register_version == register.version
    assert accepted.feedback_deadline.working_days == 5
    # Sun 2026-09-20 is a make-up working day: 20, 21, 22, 23, 24.
    assert accepted.feedback_deadline.due_at == end_of(2026, 9, 24)
    assert "受理告知书" in accepted.notice_text


def test_acceptance_checks_the_scope_taxonomy() -> None:
    from dataclasses import replace

    from tousu.shared.application.context_source import ContextSource
    from tousu.shared.settings import Settings

    source = ContextSource.for_settings(Settings())
    assert source().category_problem("service_quality", "efficiency") is None
    assert "out of scope" in str(source().category_problem("litigation", None))
    assert "unknown" in str(source().category_problem("weather", None))
    assert "unknown" in str(source().category_problem("service_quality", "weather"))
    case = Case()
    case.context = lambda: replace(source(), now=case.at + timedelta(hours=1))  # type: ignore[method-assign]
    case.submit()
    with pytest.raises(InvalidCommand) as info:
        case.do(c.AcceptComplaint, OPERATOR, category="litigation")
    assert info.value.field == "category"
    assert case.state.status == Status.RECEIVED
    case.do(c.AcceptComplaint, OPERATOR, category="misconduct")
    assert case.state.status == Status.ACCEPTED
