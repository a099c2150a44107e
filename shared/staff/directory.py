"""The staff directory: which accounts may hold a department's cases.

The decider is pure, so it cannot read the users table (migration 0003); a
service loads the accounts into a :class:`StaffDirectory` when it starts and
again whenever they change (``tousu.shared.staff.repository``). The decision context
asks it through ``staff_problem(handler, department)``. Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The shape of a username, as the users table's CHECK constraint has it: a
# value of any other shape cannot be an account, whatever the directory holds.
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# The roles that act for one department, and so may hold its cases.
DEPARTMENT_ROLES = frozenset({"handler", "dept_head"})
# How many of a department's accounts a refusal lists (a big department's
# whole staff would swamp the message).
LISTED = 20


@dataclass(frozen=True)
class StaffAccount:
    username: str
    role: str
    department: str | None
    active: bool

    def holds_for(self, department: str) -> bool:
        return self.active and self.role in DEPARTMENT_ROLES and self.department == department


class StaffDirectory:
    """The staff accounts at one moment; immutable, replaced whole on reload."""

    def __init__(self, accounts: Iterable[StaffAccount] = ()) -> None:
        self._accounts = {a.username: a for a in accounts}

    def __len__(self) -> int:
        return len(self._accounts)

    def holders(self, department: str) -> list[str]:
        """The usernames that may hold ``department``'s cases, sorted."""
        return sorted(a.username for a in self._accounts.values() if a.holds_for(department))

    def problem(self, handler: str, department: str) -> str | None:
        """Why ``handler`` may not hold a case of ``department``, or None."""
        account = self._accounts.get(handler)
        if account is not None and account.holds_for(department):
            return None
        allowed = self.holders(department)
        listed = ", ".join(allowed[:LISTED]) + (", …" if len(allowed) > LISTED else "")
        shown = handler if len(handler) <= 64 else handler[:64] + "…"
        return (
            f"{shown!r} is not an active handler or department head of {department}; "
            f"allowed: {listed or 'nobody yet (add one with `tousu users add`)'}"
        )
