"""The domain's rules for actors that are systems: a channel's adapter submits
for its own channel only, and a department's system is a handler of its
department, confined to its cases, claiming them for its staff."""

from __future__ import annotations

import pytest

from tests.domain_kit import OPERATOR, Case
from tousu.shared.domain import commands as c
from tousu.shared.domain.actors import channel_actor, department_system_actor
from tousu.shared.domain.errors import Forbidden, InvalidCommand, NotFound, WrongChannel
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel


def test_a_channel_adapter_submits_for_its_own_channel() -> None:
    case = Case()
    out = case.do(
        c.SubmitComplaint,
        channel_actor("wechat"),
        **_facts(Channel.WECHAT),
    )

    assert isinstance(out[0], ev.ComplaintReceived)


def test_a_channel_adapter_may_not_submit_for_another_channel() -> None:
    with pytest.raises(WrongChannel) as refused:
        Case().do(c.SubmitComplaint, channel_actor("wechat"), **_facts(Channel.WEB))

    assert refused.value.code == "wrong_channel"


def test_a_channel_adapter_does_nothing_but_submit() -> None:
    case = Case().submit()

    with pytest.raises(Forbidden):
        case.do(
            c.AcceptComplaint,
            channel_actor("phone"),
            category="public_service",
            verification_note="ok",
        )


def test_a_department_system_claims_its_departments_case_for_its_staff() -> None:
    case = Case().submit().accept().route("water")

    out = case.do(c.ClaimCase, department_system_actor("water"), handler="h-zhao")

    assert out == [ev.CaseClaimed(department="water", handler="h-zhao")]


def test_a_department_system_names_who_handles_the_case() -> None:
    case = Case().submit().accept().route("water")

    with pytest.raises(InvalidCommand, match="names the staff member"):
        case.do(c.ClaimCase, department_system_actor("water"))


def test_a_department_system_does_not_see_another_departments_case() -> None:
    case = Case().submit().accept().route("transport")

    with pytest.raises(NotFound):
        case.do(c.ClaimCase, department_system_actor("water"), handler="h-zhao")


def test_an_operator_may_still_submit_for_any_channel() -> None:
    out = Case().do(c.SubmitComplaint, OPERATOR, **_facts(Channel.LETTER))

    assert isinstance(out[0], ev.ComplaintReceived)


def _facts(channel: Channel) -> dict[str, object]:
    return {
        "channel": channel,
        "tracking_no": "TS2603-0001-00",
        "complainant": ev.Complainant(name="张三", phone="13800000000"),
        "subject": "噪音",
        "description": "夜间施工噪音",
    }
