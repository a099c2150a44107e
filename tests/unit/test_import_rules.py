"""The domain's rules for imported history (shared/domain/imports.py): only an
administrator, under the import's own context, records an old system's steps,
each marked as imported, however old; the order of dates still holds."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from tests.domain_kit import OPERATOR, START, SUPERVISOR, Case
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext, InvalidCommand, Status
from tousu.shared.domain.errors import Forbidden
from tousu.shared.domain.imports import import_reason, is_imported
from tousu.shared.events import Actor
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, Complainant

ADMIN = Actor(id="admin-he", role="admin")
REASON = import_reason("old-system", "A-1")


@dataclass
class ImportCase(Case):
    """Recorded three years after it happened, in an import's context."""

    def context(self) -> DecisionContext:
        return replace(super().context(), importing=True)


def imported(case: Case) -> Case:
    case.now = START + timedelta(days=3 * 365)
    case.do(
        c.SubmitComplaint,
        ADMIN,
        channel=Channel.WECHAT,
        occurred_at=START,
        tracking_no="TS1",
        complainant=Complainant(name="张三", phone="13800000000"),
        subject="停水",
        description="小区停水",
        late_reason=REASON,
    )
    case.do(c.AcceptComplaint, ADMIN, category="service_quality", late_reason=REASON)
    case.do(c.RouteComplaint, ADMIN, department="water", late_reason=REASON)
    return case


def test_an_administrator_imports_a_whole_history_each_step_marked() -> None:
    case = imported(ImportCase())
    # No claim, investigation, plan or consultation on record: the result anyway.
    case.do(
        c.ResolveComplaint, ADMIN, result="已恢复供水", basis="旧系统办理结果", late_reason=REASON
    )
    case.do(c.SendFeedback, ADMIN, late_reason=REASON)
    case.do(c.RecordFollowUp, ADMIN, satisfaction="satisfied", late_reason=REASON)
    assert case.state.status == Status.CLOSED
    assert case.state.received_at == START
    marks = [
        ev.LateEntryRecorded.model_validate(e.data)
        for e in case.envelopes
        if e.type == "LateEntryRecorded"
    ]
    assert len(marks) == 6 and all(is_imported(m) for m in marks)
    assert {(m.reason, m.approved_by, m.within_window) for m in marks} == {
        (REASON, "admin-he", True)
    }
    resolved = next(e for e in case.envelopes if e.type == "ComplaintResolved")
    assert resolved.data["short_path"] is True  # the full order is not on record


@pytest.mark.parametrize("actor", [OPERATOR, SUPERVISOR])
def test_only_an_administrator_imports(actor: Actor) -> None:
    case = ImportCase()
    with pytest.raises(Forbidden):
        case.do(
            c.SubmitComplaint,
            actor,
            channel=Channel.PHONE,
            occurred_at=START,
            tracking_no="TS1",
            complainant=Complainant(phone="13800000000"),
            subject="s",
            description="d",
            late_reason=REASON,
        )
    assert case.envelopes == []


def test_an_imported_step_needs_its_reason_and_keeps_the_order_of_dates() -> None:
    case = imported(ImportCase())
    with pytest.raises(InvalidCommand) as info:
        case.do(c.ResolveComplaint, ADMIN, result="r", basis="b")
    assert info.value.field == "late_reason"
    with pytest.raises(InvalidCommand) as info:
        case.do(
            c.ResolveComplaint,
            ADMIN,
            result="r",
            basis="b",
            late_reason=REASON,
            occurred_at=START - timedelta(days=1),
        )
    assert info.value.field == "occurred_at"


def test_outside_an_import_the_administrator_is_held_to_the_usual_rules() -> None:
    """The same admin command in a running service's context: the result of
    a case nobody claimed or investigated is refused."""
    case = imported(ImportCase())
    plain = Case(
        complaint_id=case.complaint_id, at=case.at, envelopes=case.envelopes, state=case.state
    )
    plain.now = case.now
    with pytest.raises(Forbidden):
        plain.do(c.ResolveComplaint, ADMIN, result="r", basis="b", late_reason=REASON)
