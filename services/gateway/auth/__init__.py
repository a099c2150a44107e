"""Staff sign-in: users, bearer tokens, roles and department scoping.

Routes take the principal from ``tousu.services.gateway.auth.dependencies``
(``CurrentUser``, ``require_roles``) and check a case with :func:`can_see_case`.
Only the FastAPI-free parts are re-exported here, so that the command line
(``tousu users``) can use the repository without importing FastAPI.
"""

from tousu.services.gateway.auth.roles import (
    DEPARTMENT_ROLES,
    ROLES,
    Principal,
    StaffRole,
    can_see_case,
)

__all__ = ["DEPARTMENT_ROLES", "ROLES", "Principal", "StaffRole", "can_see_case"]
