"""The order of the handling steps (policy 一(四) 1-4): investigate, plan, the
complainant's opinion on the plan, carry out and resolve; each refusal names
the state and the missing step; the register's short path for simple items."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.domain_kit import HANDLER, Case
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext, IllegalTransition, InvalidCommand, Status
from tousu.shared.domain.handling_order import Step, next_step
from tousu.shared.events import types as ev
from tousu.shared.events.types import PlanMeasure
from tousu.shared.intake.commitments import CommitmentRegister

RESOLVE: dict[str, Any] = {"result": "已修复", "basis": "路灯维护规范"}
PLAN: dict[str, Any] = {"measures": [PlanMeasure(measure="更换灯杆", owner="h-zhao")]}


def claimed(service_item: str | None = None) -> Case:
    return Case().submit(service_item=service_item).accept().route().claim()


def refused(case: Case, command: type[c.Command], **fields: Any) -> IllegalTransition:
    before = (case.state, len(case.envelopes))
    with pytest.raises(IllegalTransition) as info:
        case.do(command, HANDLER, **fields)
    assert (case.state, len(case.envelopes)) == before  # nothing stored
    return info.value


def test_consultation_before_a_plan_is_refused_naming_state_and_step() -> None:
    case = claimed().investigate()
    refusal = refused(case, c.RecordConsultation, agrees=True)
    assert refusal.details["current_state"] == "in_handling"
    assert refusal.details["missing_step"] == "plan"
    assert "in_handling" in refusal.message and "制定处理方案" in refusal.message
    case.plan().consult()
    assert case.state.plan_consulted


def test_resolve_before_the_investigation_is_refused_naming_state_and_step() -> None:
    case = claimed()
    refusal = refused(case, c.ResolveComplaint, **RESOLVE)
    assert refusal.details["current_state"] == "claimed"
    assert refusal.details["missing_step"] == "investigation"
    assert "claimed" in refusal.message and "调查核实" in refusal.message


def test_plan_before_the_investigation_is_refused_naming_state_and_step() -> None:
    refusal = refused(claimed(), c.ProposePlan, **PLAN)
    assert (refusal.details["current_state"], refusal.details["missing_step"]) == (
        "claimed",
        "investigation",
    )


def test_resolve_after_investigation_without_plan_or_consultation_is_refused() -> None:
    case = claimed().investigate()
    assert refused(case, c.ResolveComplaint, **RESOLVE).details["missing_step"] == "plan"
    case.plan()
    refusal = refused(case, c.ResolveComplaint, **RESOLVE)
    assert refusal.details["missing_step"] == "consultation"
    # Carrying it out (progress) waits for the complainant's opinion too.
    assert refused(case, c.ReportProgress, progress="p").details["missing_step"] == "consultation"
    case.consult()
    case.do(c.ReportProgress, HANDLER, progress="已开工")
    (resolved,) = case.do(c.ResolveComplaint, HANDLER, **RESOLVE)
    assert isinstance(resolved, ev.ComplaintResolved) and resolved.short_path is False


def test_a_new_plan_needs_the_complainants_opinion_again() -> None:
    case = claimed().handle()
    case.plan()  # revised after the opinion
    assert next_step(case.state) == Step.CONSULTATION
    assert refused(case, c.ResolveComplaint, **RESOLVE).details["missing_step"] == "consultation"
    # A disagreeing opinion is on record; the policy asks for it, not for consent.
    case.consult(agrees=False)
    case.resolve()
    assert case.state.status == Status.RESOLVED


def test_the_order_holds_during_an_extension_request() -> None:
    case = claimed().investigate()
    case.do(c.RequestExtension, HANDLER, working_days=2, reason="需协调")
    refusal = refused(case, c.RecordConsultation, agrees=True)
    assert refusal.details["current_state"] == "extension_pending"
    case.plan()
    assert case.state.status == Status.EXTENSION_PENDING and case.state.planned


def test_a_reopened_round_starts_the_steps_afresh() -> None:
    case = claimed().handle().resolve().feedback()
    case.follow_up("dissatisfied")
    assert case.state.status == Status.REOPENED
    assert next_step(case.state) == Step.INVESTIGATION
    refusal = refused(case, c.ResolveComplaint, **RESOLVE)
    assert (refusal.details["current_state"], refusal.details["missing_step"]) == (
        "reopened",
        "investigation",
    )
    assert refused(case, c.ProposePlan, **PLAN).details["missing_step"] == "investigation"
    resolved = case.handle().resolve().state
    assert resolved.status == Status.RESOLVED and resolved.round == 2


# -- the short path, allowed by the commitment register --------------------------------
class RegisterCase(Case):
    """A case decided with the packaged register's short-path entries."""

    def context(self) -> DecisionContext:
        register = CommitmentRegister.load()
        return replace(super().context(), short_path_allowed=register.allows_short_path)


def registered(service_item: str) -> RegisterCase:
    case = RegisterCase()
    case.submit(service_item=service_item).accept().route().claim()
    return case


def test_the_register_says_which_items_allow_the_short_path() -> None:
    register = CommitmentRegister.load()
    assert register.allows_short_path("street_light_repair")
    assert not register.allows_short_path("water_repair")
    assert not register.allows_short_path(None)
    assert not register.allows_short_path("no_such_item")


def test_the_short_path_is_allowed_for_an_item_that_permits_it_and_recorded() -> None:
    case = registered("street_light_repair").investigate()
    # Without asking for it, the full order still applies, and the refusal says
    # this item allows the short path.
    refusal = refused(case, c.ResolveComplaint, **RESOLVE)
    assert refusal.details["missing_step"] == "plan" and "short path" in refusal.message
    (resolved,) = case.do(c.ResolveComplaint, HANDLER, short_path=True, **RESOLVE)
    assert isinstance(resolved, ev.ComplaintResolved) and resolved.short_path is True
    assert case.envelopes[-1].data["short_path"] is True
    assert case.state.status == Status.RESOLVED


def test_the_short_path_still_needs_the_investigation() -> None:
    case = registered("street_light_repair")
    refusal = refused(case, c.ResolveComplaint, short_path=True, **RESOLVE)
    assert (refusal.details["current_state"], refusal.details["missing_step"]) == (
        "claimed",
        "investigation",
    )


def test_the_short_path_is_refused_for_an_item_that_does_not_permit_it() -> None:
    for item in ("water_repair", None):
        case = registered(item).investigate() if item else claimed().investigate()
        before = (case.state, len(case.envelopes))
        with pytest.raises(InvalidCommand) as info:
            case.do(c.ResolveComplaint, HANDLER, short_path=True, **RESOLVE)
        assert info.value.field == "short_path"
        assert (case.state, len(case.envelopes)) == before


def test_the_short_path_is_recorded_only_when_a_step_was_left_out() -> None:
    case = registered("street_light_repair").handle()
    (resolved,) = case.do(c.ResolveComplaint, HANDLER, short_path=True, **RESOLVE)
    assert isinstance(resolved, ev.ComplaintResolved) and resolved.short_path is False


def test_progress_on_a_short_path_item_follows_the_investigation() -> None:
    case = registered("street_light_repair")
    assert refused(case, c.ReportProgress, progress="p").details["missing_step"] == (
        "investigation"
    )
    case.investigate()
    case.do(c.ReportProgress, HANDLER, progress="已派维修班组")
    assert case.state.status == Status.IN_HANDLING
