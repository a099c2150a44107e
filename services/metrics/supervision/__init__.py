"""Supervision (督办) of deadlines: when warnings and overdue notices are due."""

from tousu.services.metrics.supervision.policy import (
    SUPERVISED,
    Level,
    Notice,
    due_notices,
    notice_command_id,
    overdue_working_days,
    standing,
    warning_at,
)

__all__ = [
    "SUPERVISED",
    "Level",
    "Notice",
    "due_notices",
    "notice_command_id",
    "overdue_working_days",
    "standing",
    "warning_at",
]
