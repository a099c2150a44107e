"""Which handling step comes next, for the staff case page: the actions the
domain would refuse for the order of steps (shared/domain/handling_order.py)
are shown disabled with the missing step, and a posted form for one is
answered with the same reason rather than sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff.actions import WebAction
from tousu.shared.domain import commands as c
from tousu.shared.domain.decide import WORKING
from tousu.shared.domain.handling_order import Step, missing_before, next_step
from tousu.shared.domain.state import ComplaintState
from tousu.shared.intake.commitments import CommitmentRegister

SHORT_PATH: Final = "resolve-short"
STEP_NAMES: Final[dict[Step, str]] = {
    Step.INVESTIGATION: N_("the investigation"),
    Step.PLAN: N_("a handling plan (measures, owners, dates)"),
    Step.CONSULTATION: N_("the complainant's opinion on the plan"),
}
NEXT = N_("Next step: %(step)s.")
NEEDS = N_("Not yet: record %(step)s first.")
CARRY_OUT = N_(
    "Next step: carry out the plan, telling the complainant of the progress, "
    "then record the result."
)
ORDER_HINT = N_(
    "Handling follows the policy's order: investigate, propose a plan, ask the "
    "complainant's opinion on it, then carry it out and record the result."
)


def short_path_allowed(state: ComplaintState) -> bool:
    return CommitmentRegister.load().allows_short_path(state.service_item)


def _missing(wa: WebAction, state: ComplaintState) -> tuple[Step, ...]:
    command = wa.action.command
    if wa.name == SHORT_PATH:
        return missing_before(state, command, short_path=True)
    # Progress follows the investigation alone where the short path is allowed,
    # as the domain decides it.
    short = command is c.ReportProgress and short_path_allowed(state)
    return missing_before(state, command, short_path=short)


def blocked(wa: WebAction, state: ComplaintState, lang: Lang) -> str | None:
    """Why the domain would refuse this action now for the order of steps, or None."""
    if state.status not in WORKING:
        return None
    missing = _missing(wa, state)
    if not missing:
        return None
    return gettext(lang, NEEDS, step=gettext(lang, STEP_NAMES[missing[0]]))


def offered(was: Iterable[WebAction], state: ComplaintState) -> list[WebAction]:
    """The actions to show: the short path only where the register allows it
    and it would leave a step out."""
    out = []
    for wa in was:
        if wa.name == SHORT_PATH and not (
            short_path_allowed(state) and missing_before(state, wa.action.command)
        ):
            continue
        out.append(wa)
    return out


def next_step_text(state: ComplaintState, lang: Lang) -> str | None:
    """The "next step" line, while a department handles the case and a step is owed."""
    if state.status not in WORKING:
        return None
    step = next_step(state)
    if step is None:
        return gettext(lang, CARRY_OUT)
    return gettext(lang, NEXT, step=gettext(lang, STEP_NAMES[step]))
