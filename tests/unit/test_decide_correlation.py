"""The events one command decides share one correlation id: a late step and
the mark that follows it (补录) are one act, and a trace or an audit that
groups by correlation finds them together."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from tests.domain_kit import HANDLER, Case
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import decide


def test_a_late_step_and_its_mark_share_the_commands_correlation() -> None:
    case = Case().submit().accept().route("water").claim()
    at = case.at + timedelta(minutes=30)
    command = c.RecordInvestigation(
        actor=HANDLER, occurred_at=at, findings="管网维修未提前公告", methods=["现场勘查"]
    )
    # Recorded two hours after it happened, the same day: a late entry with its mark.
    ctx = replace(case.context(), now=at + timedelta(hours=2))
    events = decide(case.state, command, ctx)
    assert [e.type for e in events] == ["InvestigationRecorded", "LateEntryRecorded"]
    assert len({e.correlation_id for e in events}) == 1

    given = uuid.uuid4()
    named = decide(case.state, command.model_copy(update={"correlation_id": given}), ctx)
    assert {e.correlation_id for e in named} == {given}
