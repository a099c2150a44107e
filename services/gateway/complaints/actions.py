"""The staff actions of docs/design.md, "HTTP": which service answers each, with which command.

The action name is also the command's subject token
(``<root>.cmd.<service>.<action>``), as the services register them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tousu.services.gateway.auth import ROLES as STAFF_ROLES
from tousu.services.gateway.auth import StaffRole
from tousu.shared.domain import commands as c
from tousu.shared.domain.decide import ROLES as COMMAND_ROLES


@dataclass(frozen=True)
class Action:
    name: str
    service: str
    command: type[c.Command]

    @property
    def roles(self) -> tuple[StaffRole, ...]:
        """Staff roles the domain lets issue the command ("system" and
        "complainant" are no one's sign-in role)."""
        allowed = COMMAND_ROLES[self.command]
        return tuple(r for r in STAFF_ROLES if r in allowed)


ACTIONS: tuple[Action, ...] = (
    Action("accept", "intake", c.AcceptComplaint),
    Action("reject", "intake", c.RejectComplaint),
    Action("route", "routing", c.RouteComplaint),
    Action("claim", "routing", c.ClaimCase),
    Action("return", "routing", c.ReturnCase),
    Action("investigation", "handling", c.RecordInvestigation),
    Action("plan", "handling", c.ProposePlan),
    Action("consultation", "handling", c.RecordConsultation),
    Action("progress", "handling", c.ReportProgress),
    Action("extension", "handling", c.RequestExtension),
    Action("extension-decision", "handling", c.DecideExtension),
    Action("resolve", "handling", c.ResolveComplaint),
    Action("feedback", "handling", c.SendFeedback),
    Action("follow-up", "followup", c.RecordFollowUp),
    Action("reopen", "followup", c.ReopenComplaint),
    Action("supervise", "metrics", c.RaiseSupervision),
)

# Not a generic action: its body names the primary (``duplicate_of``), and the
# intake service records it on both complaints (``services/intake/merge.py``).
MERGE = Action("merge", "intake", c.LinkDuplicate)
