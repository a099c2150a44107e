"""Which files belong to which step: the events' optional attachment lists
and the decider's checks on them (count, each once, present in the store,
sealed for the case's complainant, published by staff only)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.domain_kit import CALENDAR, COMPLAINANT, HANDLER, SUPERVISOR, Case
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import decide
from tousu.shared.domain.context import DecisionContext
from tousu.shared.domain.errors import InvalidCommand
from tousu.shared.events import decode, new_event, stored, utcnow
from tousu.shared.events import types as ev


def ref(n: int = 1, owner: uuid.UUID | None = None, **flags: Any) -> ev.FileRef:
    return ev.FileRef(
        sha256=f"{n:064x}",
        size=1000 + n,
        media_type="image/jpeg",
        name=f"photo-{n}.jpg",
        owner=owner,
        thumbnail=True,
        **flags,
    )


def handled() -> Case:
    return Case().submit().accept().route().claim()


def decided(case: Case, command: c.Command, **ctx: Any) -> list[ev.EventData]:
    context = replace(DecisionContext(calendar=CALENDAR, now=command.occurred_at), **ctx)
    out = []
    for event in decide(case.state, command, context):
        out.append(
            decode(
                stored(
                    event,
                    stream_id=case.stream_id,
                    version=case.state.version + 1,
                    global_position=1,
                    recorded_at=utcnow(),
                )
            )
        )
    return out


def test_old_events_decode_and_new_ones_without_files_store_as_before() -> None:
    old = {"findings": "管网维修", "methods": ["现场勘查"]}
    assert ev.InvestigationRecorded.model_validate(old).attachments == []
    # No files: the stored data is what it was before attachments existed.
    assert new_event(ev.InvestigationRecorded(**old)).data == old
    with_files = new_event(ev.InvestigationRecorded(**old, attachments=[ref()])).data
    assert with_files["attachments"][0]["sha256"] == f"{1:064x}"


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        (c.RecordInvestigation, {"findings": "现场查看"}),
        (c.ReportProgress, {"progress": "已派人维修"}),
    ],
)
def test_a_step_carries_its_files_into_its_event(
    command: type[c.Command], fields: dict[str, Any]
) -> None:
    case = handled()
    if command is c.ReportProgress:
        case.investigate().plan().consult()
    at = case.at + timedelta(hours=1)
    (event,) = decided(case, command(actor=HANDLER, occurred_at=at, attachments=[ref()], **fields))
    assert event.attachments == [ref()]  # type: ignore[attr-defined]


def test_a_submission_and_a_supervision_carry_files() -> None:
    case = Case()
    at = case.at + timedelta(hours=1)
    submitted = c.SubmitComplaint(
        actor=COMPLAINANT,
        occurred_at=at,
        tracking_no="TS2603-0001-00",
        channel=ev.Channel.WEB,
        complainant=ev.Complainant(name="张三", phone="13800000000"),
        subject="停水",
        description="两天停水",
        attachments=[ref(1), ref(2)],
    )
    (received,) = decided(case, submitted)
    assert isinstance(received, ev.ComplaintReceived)
    assert [f.name for f in received.attachments] == ["photo-1.jpg", "photo-2.jpg"]
    case = handled()
    raised = c.RaiseSupervision(
        actor=SUPERVISOR,
        occurred_at=case.at + timedelta(hours=1),
        kind="manual",
        note="请三日内答复",
        attachments=[ref(3)],
    )
    (supervision,) = decided(case, raised)
    assert supervision.attachments == [ref(3)]  # type: ignore[attr-defined]


def investigate(case: Case, *files: ev.FileRef, **ctx: Any) -> list[ev.EventData]:
    at = case.at + timedelta(hours=1)
    command = c.RecordInvestigation(
        actor=HANDLER, occurred_at=at, findings="现场", attachments=list(files)
    )
    return decided(case, command, **ctx)


def test_more_files_than_a_step_may_carry_are_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        investigate(handled(), ref(1), ref(2), ref(3), max_attachments=2)
    assert refused.value.field == "attachments"
    assert "at most 2 files" in str(refused.value)
    assert len(investigate(handled(), ref(1), ref(2), max_attachments=2)) == 1


def test_the_same_file_twice_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="attached twice"):
        investigate(handled(), ref(1), ref(1))


def test_a_file_the_store_does_not_have_is_refused_with_the_stores_reason() -> None:
    present = {ref(1).sha256}

    def problem(file: ev.FileRef) -> str | None:
        return None if file.sha256 in present else "no such file in the attachment store"

    with pytest.raises(InvalidCommand, match=r"photo-2\.jpg: no such file") as refused:
        investigate(handled(), ref(1), ref(2), attachment_problem=problem)
    assert refused.value.field == "attachments"
    assert investigate(handled(), ref(1), attachment_problem=problem)


def test_a_file_sealed_for_someone_else_is_refused_on_a_case_with_a_complainant_key() -> None:
    case = handled()
    owner = uuid.uuid4()
    case.state = replace(
        case.state, complainant=ev.Complainant(key=owner, sealed="box", anonymous=False)
    )
    with pytest.raises(InvalidCommand, match="not sealed for this case's complainant"):
        investigate(case, ref(1, owner=uuid.uuid4()))
    assert investigate(case, ref(1, owner=owner))


def test_a_complainant_cannot_publish_their_own_files() -> None:
    case = Case()
    command = c.SubmitComplaint(
        actor=COMPLAINANT,
        occurred_at=case.at + timedelta(hours=1),
        tracking_no="TS2603-0001-00",
        channel=ev.Channel.WEB,
        complainant=ev.Complainant(name="张三", phone="13800000000"),
        subject="停水",
        description="两天停水",
        attachments=[ref(1, public=True)],
    )
    with pytest.raises(InvalidCommand, match="only staff publish"):
        decided(case, command)
