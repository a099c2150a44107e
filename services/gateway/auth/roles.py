"""Staff roles, the authenticated principal, and which cases each role may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, get_args

from tousu.shared.events import Actor

StaffRole = Literal["operator", "handler", "dept_head", "supervisor", "admin"]
ROLES: tuple[StaffRole, ...] = get_args(StaffRole)
# Roles that act for one department, and only see that department's cases.
DEPARTMENT_ROLES: frozenset[StaffRole] = frozenset({"handler", "dept_head"})

ROLE_LABELS: dict[StaffRole, str] = {
    "operator": "受理员",
    "handler": "承办人",
    "dept_head": "部门负责人",
    "supervisor": "督办",
    "admin": "管理员",
}


@dataclass(frozen=True)
class Principal:
    """The signed-in staff member a request acts for."""

    user_id: uuid.UUID
    username: str
    role: StaffRole
    department: str | None
    display_name: str = ""
    # The token the request presented (what logout revokes).
    token_id: uuid.UUID | None = None

    def actor(self) -> Actor:
        """Who to record on the events this principal causes."""
        return Actor(id=self.username, role=self.role, department=self.department)


def can_see_case(principal: Principal, case_department: str | None) -> bool:
    """Whether ``principal`` may see (and act on) a case held by ``case_department``.

    Department roles see their own department's cases only, so not a case that
    is not routed yet; everyone else sees every case. Routes answer ``False``
    with 404, not 403, so as not to reveal that the case exists.
    """
    if principal.role in DEPARTMENT_ROLES:
        return case_department is not None and case_department == principal.department
    return True
