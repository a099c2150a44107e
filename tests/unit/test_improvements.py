"""Improvement items (整改跟踪), pure: splitting a feedback's 改进措施 into
items, the items a feedback opens, and who may close one and how."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tousu.services.gateway.quality.improvements import Lateness, lateness
from tousu.services.metrics.improvements.views import Item
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain.errors import DomainError, Forbidden, InvalidCommand, NotFound
from tousu.shared.domain.improvements import (
    AlreadyClosed,
    CloseImprovement,
    Feedback,
    decide_close,
    item_id,
    open_items,
    replay,
    split_improvements,
)
from tousu.shared.events import Actor, Envelope, NewEvent

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
WATER = Actor(id="h-zhao", role="handler", department="water")


@pytest.mark.parametrize(
    ("text", "items"),
    [
        (None, []),
        ("", []),
        ("  \n\n ；；", []),
        ("加强窗口人员培训", ["加强窗口人员培训"]),
        ("加强培训\n\n完善公告制度\n", ["加强培训", "完善公告制度"]),
        ("加强培训；完善公告制度；", ["加强培训", "完善公告制度"]),
        ("1. 加强培训\n2. 完善公告制度", ["加强培训", "完善公告制度"]),
        ("1、加强培训。2、完善公告制度。", ["加强培训", "完善公告制度"]),
        ("（一）加强培训 （二）完善公告", ["加强培训", "完善公告"]),
        ("(1) 加强培训; (2) 完善公告", ["加强培训", "完善公告"]),
        ("①加强培训②完善公告", ["加强培训", "完善公告"]),
        ("一、加强培训\n二、完善公告", ["加强培训", "完善公告"]),
        ("- train staff\n- publish notices", ["train staff", "publish notices"]),
        # A decimal or a year is not a point's number.
        ("将护栏加高到1.5米", ["将护栏加高到1.5米"]),
        ("2026年底前更换水表", ["2026年底前更换水表"]),
        ("1.", []),
    ],
)
def test_split_improvements(text: str | None, items: list[str]) -> None:
    assert split_improvements(text) == items


def test_a_long_list_keeps_its_tail_in_the_last_item() -> None:
    items = split_improvements("\n".join(f"措施{i}" for i in range(60)))
    assert len(items) == 50
    assert items[-1].startswith("措施49；措施50") and items[-1].endswith("措施59")


def _feedback(improvements: str | None) -> Feedback:
    return Feedback(
        complaint_id=uuid.UUID(int=7),
        tracking_no="TS-1",
        round=2,
        department="water",
        owner="h-zhao",
        improvements=improvements,
        fed_back_at=datetime(2026, 9, 18, 10, tzinfo=TZ),
        event_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
    )


def test_a_feedback_opens_one_item_per_point_due_in_working_days() -> None:
    feedback = _feedback("1. 加强培训\n2. 完善公告")
    opened = open_items(feedback, WorkdayCalendar(), 15)
    assert [stream for stream, _ in opened] == [
        f"improvement-{item_id(feedback.complaint_id, 2, 1)}",
        f"improvement-{item_id(feedback.complaint_id, 2, 2)}",
    ]
    first = opened[0][1]
    assert first.data["text"] == "加强培训" and first.data["index"] == 1
    assert first.department == "water" and first.data["owner"] == "h-zhao"
    # Fri 2026-09-18 + 15 working days (国庆 off, Sun 09-20 and Sat 10-10 on):
    # the end of Thu 2026-10-15, as docs/design.md's worked example.
    assert first.data["due_at"] == "2026-10-15T23:59:59.999999+08:00"
    assert first.causation_id == feedback.event_id
    # The same feedback again: the same streams and event ids.
    again = open_items(feedback, WorkdayCalendar(), 15)
    assert [(s, e.event_id) for s, e in again] == [(s, e.event_id) for s, e in opened]
    assert open_items(_feedback(None), WorkdayCalendar(), 15) == []
    assert open_items(_feedback(" \n "), WorkdayCalendar(), 15) == []


def _stored(events: list[NewEvent], start: int = 1) -> list[Envelope]:
    return [
        Envelope(
            **e.model_dump(exclude={"event_id"}),
            event_id=e.event_id,
            stream_id="improvement-x",
            version=start + i,
            global_position=start + i,
            recorded_at=e.occurred_at,
        )
        for i, e in enumerate(events)
    ]


def _open_item() -> list[Envelope]:
    return _stored([open_items(_feedback("加强培训"), WorkdayCalendar(), 15)[0][1]])


def _close(
    actor: Actor = WATER, evidence: str = "已组织培训两次", **kw: object
) -> CloseImprovement:
    return CloseImprovement(actor=actor, occurred_at=kw.pop("at", NOW), evidence=evidence, **kw)


def test_the_department_closes_its_item_with_evidence() -> None:
    history = _open_item()
    closed = decide_close(replay(history), _close(evidence="  已组织培训两次 "), NOW)
    assert [e.type for e in closed] == ["ImprovementItemClosed"]
    assert closed[0].data == {"evidence": "已组织培训两次"}
    assert closed[0].actor == WATER and closed[0].department == "water"
    head = Actor(id="d-li", role="dept_head", department="water")
    system = Actor(id="dept-system:water", role="handler", department="water")
    for who in (head, system):
        assert decide_close(replay(history), _close(who), NOW)
    # Resent with the same id: the same event id, which the store keeps once.
    cid = uuid.uuid4()
    assert (
        decide_close(replay(history), _close(command_id=cid), NOW)[0].event_id
        == decide_close(replay(history), _close(command_id=cid), NOW)[0].event_id
    )


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (_close(Actor(id="h-sun", role="handler", department="transport")), NotFound, None),
        (_close(Actor(id="h-x", role="handler")), NotFound, None),
        (_close(Actor(id="sup", role="supervisor")), Forbidden, None),
        (_close(Actor(id="op", role="operator")), Forbidden, None),
        (_close(Actor(id="tousu", role="system")), Forbidden, None),
        (_close(evidence=" \n "), InvalidCommand, "evidence"),
        (_close(at=NOW - timedelta(days=3)), InvalidCommand, "occurred_at"),
        (_close(at=NOW + timedelta(hours=1)), InvalidCommand, "occurred_at"),
    ],
)
def test_refusals(command: CloseImprovement, error: type[DomainError], field: str | None) -> None:
    with pytest.raises(error) as refused:
        decide_close(replay(_open_item()), command, NOW)
    if field is not None:
        assert isinstance(refused.value, InvalidCommand) and refused.value.field == field


def test_closed_twice_and_unknown_items_are_refused() -> None:
    history = _open_item()
    closed = _stored(decide_close(replay(history), _close(), NOW), start=2)
    with pytest.raises(AlreadyClosed):
        decide_close(replay([*history, *closed]), _close(), NOW)
    with pytest.raises(NotFound):
        decide_close(replay([]), _close(), NOW)


def test_the_evidence_is_checked_at_its_field() -> None:
    with pytest.raises(ValidationError) as bad:
        CloseImprovement(actor=WATER, occurred_at=NOW, evidence="")
    assert [e["loc"] for e in bad.value.errors()] == [("evidence",)]
    with pytest.raises(ValidationError) as bad:
        CloseImprovement(actor=WATER, occurred_at=NOW, evidence="x" * 4001)
    assert [e["loc"] for e in bad.value.errors()] == [("evidence",)]


def _item(due: datetime, closed_at: datetime | None) -> Item:
    return Item(
        item_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        tracking_no="TS-1",
        round=1,
        index=1,
        department="water",
        owner="h-zhao",
        text="加强培训",
        opened_at=due - timedelta(days=30),
        due_at=due,
        working_days=20,
        status="closed" if closed_at else "open",
        closed_at=closed_at,
        evidence="done" if closed_at else None,
        closed_by="h-zhao" if closed_at else None,
    )


def test_how_late_an_item_is_in_working_days() -> None:
    calendar = WorkdayCalendar()
    # Due at the end of Fri 2026-11-20; Mon 2026-12-07 is 11 working days on.
    due = datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=TZ)
    monday = datetime(2026, 12, 7, 10, tzinfo=TZ)
    assert lateness(_item(due, None), due, calendar) == Lateness(False, 0)
    assert lateness(_item(due, None), monday, calendar) == Lateness(True, 11)
    # Closed at its due instant: on time, whenever asked.
    assert lateness(_item(due, due), monday, calendar) == Lateness(False, 0)
    # Closed on Tue 11-24: two working days late, and it stays so.
    tuesday = datetime(2026, 11, 24, 9, tzinfo=TZ)
    assert lateness(_item(due, tuesday), monday, calendar) == Lateness(True, 2)
