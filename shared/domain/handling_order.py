"""The order of the handling steps (投诉处理流程): investigate (调查核实), then a
plan with measures, owners and dates (制定处理方案), then the complainant's
opinion on that plan (征求投诉人意见), then carry it out (实施处理: progress
reports) and record the result.

Each round of handling (the first, and each reopening after a dissatisfied
follow-up, "进一步了解原因，并重新进行处理") starts the requirements afresh:
the earlier round's findings stay on the record but do not stand for this
round's. A new plan needs the complainant's opinion again.

A service item whose register entry allows it (``short_path: true``) may be
resolved after the investigation alone, without a written plan and
consultation; the resolution then records that it took the short path.

Pure: the decider asks :func:`missing_before`, the staff case page asks the
same to show which step comes next (docs/handling-order.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tousu.shared.domain import commands as c

if TYPE_CHECKING:
    from tousu.shared.domain.state import ComplaintState


class Step(StrEnum):
    INVESTIGATION = "investigation"
    PLAN = "plan"
    CONSULTATION = "consultation"

    def label(self, lang: str = "zh") -> str:
        return _LABELS[self][0 if lang.startswith("zh") else 1]


_LABELS: dict[Step, tuple[str, str]] = {
    Step.INVESTIGATION: ("调查核实", "the investigation"),
    Step.PLAN: ("制定处理方案", "a handling plan"),
    Step.CONSULTATION: (
        "就处理方案征求投诉人意见",
        "the complainant's opinion on the current plan",
    ),
}

FULL = (Step.INVESTIGATION, Step.PLAN, Step.CONSULTATION)
SHORT = (Step.INVESTIGATION,)
# What each step needs done before it in the current round.
NEEDS: dict[type[c.Command], tuple[Step, ...]] = {
    c.ProposePlan: (Step.INVESTIGATION,),
    c.RecordConsultation: (Step.INVESTIGATION, Step.PLAN),
    c.ReportProgress: FULL,
    c.ResolveComplaint: FULL,
}


def done(state: ComplaintState) -> frozenset[Step]:
    """The steps of the current round that stand: a consultation stands only
    for the plan it was about (a newer plan has none yet)."""
    out = set()
    if state.investigated:
        out.add(Step.INVESTIGATION)
    if state.planned:
        out.add(Step.PLAN)
    if state.plan_consulted:
        out.add(Step.CONSULTATION)
    return frozenset(out)


def missing_before(
    state: ComplaintState, command: type[c.Command], *, short_path: bool = False
) -> tuple[Step, ...]:
    """The steps still owed in this round before ``command`` may be taken, in
    order. ``short_path``: the service item's register entry allows the short
    path (progress and the result after the investigation alone)."""
    needs = NEEDS.get(command, ())
    if short_path and command in (c.ReportProgress, c.ResolveComplaint):
        needs = SHORT
    have = done(state)
    return tuple(step for step in needs if step not in have)


def next_step(state: ComplaintState) -> Step | None:
    """The first step of the full order this round still owes, or None."""
    missing = missing_before(state, c.ResolveComplaint)
    return missing[0] if missing else None


def took_short_path(state: ComplaintState) -> bool:
    """Whether resolving now leaves out a step of the full order."""
    return bool(missing_before(state, c.ResolveComplaint))


def refusal_reason(missing: tuple[Step, ...], *, short_path_allowed: bool = False) -> str:
    first = missing[0]
    why = f"{first.label('en')} ({first.label('zh')}) is missing in this round"
    if len(missing) > 1:
        rest = ", ".join(f"{s.label('en')} ({s.label('zh')})" for s in missing[1:])
        why += f"; then {rest}"
    if short_path_allowed and first != Step.INVESTIGATION:
        why += "; this service item allows the short path (resolve with short_path)"
    return why
