"""References a command names are checked where the decision is made: a
department of the register, an active staff account of the holding
department, a service item, a category and subcategory of the taxonomy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.domain_kit import DEPT_HEAD, HANDLER, OPERATOR, OTHER_HANDLER, Case
from tousu.shared.application.context_source import ContextSource
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext, InvalidCommand, Status
from tousu.shared.events import Actor
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings
from tousu.shared.staff.directory import StaffAccount, StaffDirectory

SOURCE = ContextSource.for_settings(Settings())
STAFF = StaffDirectory(
    [
        StaffAccount(HANDLER.id, "handler", "water", active=True),
        StaffAccount(DEPT_HEAD.id, "dept_head", "water", active=True),
        StaffAccount("h-wu", "handler", "water", active=True),
        StaffAccount("h-gone", "handler", "water", active=False),
        StaffAccount(OTHER_HANDLER.id, "handler", "transport", active=True),
        StaffAccount("sup-wang", "supervisor", None, active=True),
    ]
)


class Checked(Case):
    """A case decided with the deployment's references, as the services decide."""

    def context(self) -> DecisionContext:
        # "now" as each step happens: these tests are about references, not late entries.
        return replace(SOURCE(), now=self.recording, staff_problem=STAFF.problem)


def refused(case: Case, command: type[c.Command], actor: Actor, **fields: Any) -> InvalidCommand:
    """The refusal of ``command``; nothing was recorded for it."""
    before = (case.state, len(case.envelopes))
    with pytest.raises(InvalidCommand) as info:
        case.do(command, actor, **fields)
    assert (case.state, len(case.envelopes)) == before
    return info.value


# -- departments -------------------------------------------------------------------
@pytest.mark.parametrize("department", ["水务 局", "no_such_dept", "water.x", "Water", "_"])
def test_a_case_is_routed_only_to_a_department_of_the_register(department: str) -> None:
    case = Checked().submit().accept()
    refusal = refused(case, c.RouteComplaint, OPERATOR, department=department)
    assert refusal.field == "department"
    codes = [d.code for d in CommitmentRegister.load().departments]
    assert refusal.message.endswith("allowed: " + ", ".join(codes))
    assert case.state.status == Status.ACCEPTED
    case.route("water")
    assert (case.state.status, case.state.department) == (Status.ROUTED, "water")


# -- handlers ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "handler",
    [
        "ghost-user",  # no such account
        OTHER_HANDLER.id,  # another department's handler
        "h-gone",  # disabled
        "sup-wang",  # staff, but holds no department's cases
        "h" * 300,
        '=HYPERLINK("http://x")',
        "",
    ],
)
def test_a_department_head_assigns_only_to_active_staff_of_the_department(handler: str) -> None:
    case = Checked().submit().accept().route("water")
    refusal = refused(case, c.ClaimCase, DEPT_HEAD, handler=handler)
    assert refusal.field == "handler"
    assert len(refusal.message) < 400  # whatever was sent is not echoed whole
    assert case.state.status == Status.ROUTED


def test_the_refusal_names_who_may_hold_the_case() -> None:
    case = Checked().submit().accept().route("water")
    refusal = refused(case, c.ClaimCase, DEPT_HEAD, handler="ghost-user")
    assert refusal.message.endswith("allowed: dh-qian, h-wu, h-zhao")


def test_a_handler_claims_only_for_himself() -> None:
    case = Checked().submit().accept().route("water")
    refusal = refused(case, c.ClaimCase, HANDLER, handler="h-wu")
    assert refusal.field == "handler"
    assert "department head" in refusal.message
    (claimed,) = case.do(c.ClaimCase, HANDLER, handler=HANDLER.id)
    assert claimed.handler == HANDLER.id  # type: ignore[attr-defined]


def test_a_department_head_assigns_the_case_to_a_colleague() -> None:
    case = Checked().submit().accept().route("water")
    (claimed,) = case.do(c.ClaimCase, DEPT_HEAD, handler="h-wu")
    assert claimed.handler == "h-wu"  # type: ignore[attr-defined]
    assert case.state.status == Status.CLAIMED


@pytest.mark.parametrize(
    "actor",
    [
        Actor(id="ghost-user", role="handler", department="water"),  # e.g. over NATS
        Actor(id="h-gone", role="handler", department="water"),
        Actor(id=OTHER_HANDLER.id, role="handler", department="water"),
    ],
)
def test_a_claim_for_oneself_needs_an_active_account_of_the_department(actor: Actor) -> None:
    case = Checked().submit().accept().route("water")
    assert refused(case, c.ClaimCase, actor).field == "handler"


def test_without_a_staff_directory_the_shape_of_a_username_is_still_checked() -> None:
    """Pure tests and tools accept any account, but never a non-username."""
    case = Case(at=Checked().at)
    case.context = lambda: replace(SOURCE(), now=case.at + timedelta(hours=2))  # type: ignore[method-assign]
    case.submit().accept().route("water")
    assert refused(case, c.ClaimCase, DEPT_HEAD, handler="a b").field == "handler"
    case.do(c.ClaimCase, DEPT_HEAD, handler="anyone")
    assert case.state.status == Status.CLAIMED


# -- service items and categories ------------------------------------------------------
def test_a_service_item_must_be_in_the_register() -> None:
    items = [i.code for i in CommitmentRegister.load().items]
    case = Checked()
    refusal = refused(case, c.SubmitComplaint, OPERATOR, **submission(service_item="nope"))
    assert (refusal.field, refusal.message) == (
        "service_item",
        "unknown service item 'nope'; allowed: " + ", ".join(items),
    )
    assert not case.state.exists
    case.submit(service_item=items[0])
    refusal = refused(
        case, c.AcceptComplaint, OPERATOR, category="service_quality", service_item="nope"
    )
    assert refusal.field == "service_item"
    assert case.state.status == Status.RECEIVED


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "weather"}, "category"),
        ({"category": "service_quality", "subcategory": "weather"}, "subcategory"),
        ({"subcategory": "efficiency"}, "subcategory"),
        ({"category": "litigation", "subcategory": "efficiency"}, "subcategory"),
    ],
)
def test_a_classification_given_on_registration_must_exist(
    fields: dict[str, str], field: str
) -> None:
    case = Checked()
    refusal = refused(case, c.SubmitComplaint, OPERATOR, **submission(**fields))
    assert refusal.field == field
    assert "allowed" in refusal.message or "subcategor" in refusal.message


def test_an_out_of_scope_kind_is_a_known_code_on_registration() -> None:
    """Registered as the complainant put it; the operator then rejects it."""
    case = Checked().submit(category="litigation")
    assert case.state.status == Status.RECEIVED


def test_acceptance_names_the_subcategory_that_does_not_exist() -> None:
    case = Checked().submit()
    refusal = refused(
        case, c.AcceptComplaint, OPERATOR, category="service_quality", subcategory="weather"
    )
    assert refusal.field == "subcategory"
    assert "allowed: " in refusal.message
    refusal = refused(case, c.AcceptComplaint, OPERATOR, category="weather")
    assert (refusal.field, "allowed: " in refusal.message) == ("category", True)


def submission(**fields: Any) -> dict[str, Any]:
    from tousu.shared.events.types import Channel, Complainant

    return {
        "channel": Channel.PHONE,
        "tracking_no": "TS2603-0001-00",
        "complainant": Complainant(name="张三", phone="13800000000"),
        "subject": "自来水停水未通知",
        "description": "小区连续两天停水。",
        **fields,
    }
