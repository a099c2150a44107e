from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from tests.helpers import make_envelope
from tousu.shared.events import Actor, Envelope, EventData, decode, new_event, upcaster
from tousu.shared.events.base import UnknownEventType, model_for
from tousu.shared.events.types import Channel, Complainant, ComplaintReceived, ComplaintRejected

# The event types of the original contract, as listed in docs/design.md,
# "Events" (there LateEntryRecorded is marked as tousu's own extension).
DESIGN_TYPES = """ComplaintReceived ComplaintAccepted ComplaintRejected ComplaintRouted
CaseClaimed CaseReturned InvestigationRecorded HandlingPlanProposed ComplainantConsulted
ProgressReported ExtensionRequested ExtensionDecided ComplaintResolved ResultFeedbackSent
FollowUpScheduled ComplaintFollowedUp ComplaintReopened ComplaintClosed SupervisionRaised
DuplicateLinked DeadlineRecalculated""".split()


def test_every_design_event_type_has_a_model() -> None:
    for name in DESIGN_TYPES:
        assert model_for(name).__name__ == name
    with pytest.raises(UnknownEventType):
        model_for("ComplaintTeleported")


def _envelope(event_type: str, data: dict[str, Any], schema_version: int = 1) -> Envelope:
    return make_envelope(
        event_type, data, schema_version=schema_version, actor=Actor(id="op-7", role="operator")
    )


def test_new_event_and_decode_round_trip() -> None:
    data = ComplaintReceived(
        tracking_no="TS-2026-000001",
        channel=Channel.PHONE,
        complainant=Complainant(name="张三", phone="13800000000"),
        subject="窗口推诿",
        description="工作人员推诿责任",
    )
    event = new_event(data)
    assert event.type == "ComplaintReceived"
    decoded = decode(_envelope(event.type, event.data))
    assert decoded == data


def test_envelope_rejects_naive_time_and_bad_role() -> None:
    valid = _envelope("ComplaintClosed", {}).model_dump()
    with pytest.raises(ValidationError):
        Envelope.model_validate({**valid, "occurred_at": datetime(2026, 1, 1)})
    with pytest.raises(ValidationError):
        Envelope.model_validate({**valid, "actor": {"id": "x", "role": "god"}})


def test_decode_upcasts_older_schema_versions() -> None:
    class CaseNoted(EventData):
        schema_version: ClassVar[int] = 3
        text: str
        language: str

    @upcaster("CaseNoted", 1)
    def _v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["note"]}

    @upcaster("CaseNoted", 2)
    def _v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "language": "zh-CN"}

    try:
        old = decode(_envelope("CaseNoted", {"note": "已回访"}, schema_version=1))
        assert old == CaseNoted(text="已回访", language="zh-CN")
        with pytest.raises(ValueError, match="newer"):
            decode(_envelope("CaseNoted", {"text": "x", "language": "en"}, schema_version=4))
    finally:
        EventData.registry.pop("CaseNoted")


def test_event_data_is_strict() -> None:
    with pytest.raises(ValidationError):
        ComplaintRejected.model_validate({"reason": "不属于受理范围", "suggestion": "x"})
    with pytest.raises(ValidationError):
        ComplaintRejected.model_validate(
            {"reason": "r", "suggestion": "s", "notice_text": "n", "extra": 1}
        )
