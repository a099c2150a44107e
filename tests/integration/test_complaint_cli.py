"""`tousu complaint show`, run as the real command in a child process, on a
complaint registered by intake (so that its tracking number is reserved)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.domain_kit import ReplayExecutor
from tests.helpers import tousu
from tousu.services.intake.intake import Intake
from tousu.shared.application.context_source import ContextSource
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.identifiers import new_tracking_no
from tousu.shared.intake.submission import Submission
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
OPERATOR = Actor(id="op-li", role="operator")
HANDLER = Actor(id="h-zhao", role="handler", department="water")


async def test_show_by_tracking_number_and_id(
    store: PostgresEventStore, settings: Settings, child_env: dict[str, str]
) -> None:
    # The history is set in the past, each step recorded as it happened.
    executor = ReplayExecutor(store, ContextSource.for_settings(settings))
    submitted = await Intake(store, executor, access_code_key=access_code_key(settings)).submit(
        Submission(
            channel=Channel.PHONE,
            received_at=RECEIVED,
            complainant=Complainant(name="张三", phone="13800000000"),
            subject="停水未通知",
            description="小区连续两天停水，供水公司未提前公告。",
        ),
        OPERATOR,
    )
    cid = submitted.complaint_id
    at = iter(RECEIVED + timedelta(hours=h) for h in range(1, 10))
    for command in (
        c.AcceptComplaint(actor=OPERATOR, occurred_at=next(at), category="service_quality"),
        c.RouteComplaint(actor=OPERATOR, occurred_at=next(at), department="water"),
        c.ClaimCase(actor=HANDLER, occurred_at=next(at)),
    ):
        await executor.execute(cid, command)

    # As a person might type it: lower case, spaces instead of dashes.
    typed = submitted.tracking_no.lower().replace("-", " ")
    code, out, err = await tousu(child_env, "complaint", "show", typed, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["complaint_id"] == str(cid) and doc["tracking_no"] == submitted.tracking_no
    assert (doc["status"], doc["status_label"]) == ("claimed", "已签收")
    assert (doc["channel_label"], doc["department"], doc["handler"]) == ("电话", "water", "h-zhao")
    assert [e["label"] for e in doc["timeline"]] == ["登记投诉", "受理", "转办", "签收"]
    assert doc["timeline"][0]["occurred_at"] == "2026-03-02T09:00:00+08:00"
    kinds = {d["kind"] for d in doc["deadlines"]}
    assert {"acceptance", "claim", "return", "feedback"} <= kinds
    assert doc["promised_feedback"]["kind"] == "feedback"

    code, out, err = await tousu(child_env, "complaint", "show", str(cid))
    assert code == 0, err
    for text in (submitted.tracking_no, "已签收", "处理经过", "反馈期限", "承诺反馈日期", "转办"):
        assert text in out

    unused = new_tracking_no(RECEIVED)
    code, out, err = await tousu(child_env, "complaint", "show", unused)
    assert (code, out) == (1, "") and f"未找到投诉编号为 {unused} 的投诉" in err
    code, _, err = await tousu(child_env, "complaint", "show", "not-a-number")
    assert code == 1 and "不是投诉编号" in err
