"""What a decision needs besides the state and the command: the calendar,
the applicable time limits, notice texts, and the current time. All pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events.types import Deadline, DeadlineKind, FileRef


@dataclass(frozen=True)
class Limits:
    """Working-day limits of docs/design.md, "Deadlines"; a service item may override them."""

    acceptance_days: int = 2
    claim_days: int = 1
    return_days: int = 2
    feedback_days: int = 15
    follow_up_days: int = 3
    max_extension_days: int = 10


class NoticeRenderer(Protocol):
    def __call__(self, kind: str, language: str, **fields: Any) -> str: ...


def plain_notice(kind: str, language: str, **fields: Any) -> str:
    """A minimal renderer for tests and tools; services use the templated one."""
    details = "; ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return f"[{kind}] {details}"


def any_category(_category: str, _subcategory: str | None) -> str | None:
    """Accepts every classification (tests, tools); services check the taxonomy."""
    return None


# The lookups below answer "why can this reference not be accepted", or None.
# These defaults accept everything, for pure tests and tools; the services use
# the commitment register, the taxonomy and the staff directory
# (shared/application/context_source.py).
def any_department(_department: str) -> str | None:
    """Accepts every department code; services check the commitment register."""
    return None


def any_service_item(_item: str) -> str | None:
    """Accepts every service item; services check the commitment register."""
    return None


def any_handler(_handler: str, _department: str) -> str | None:
    """Accepts every handler; services check the staff accounts (users table)."""
    return None


def no_short_path(_item: str | None) -> bool:
    """No item allows the short path; services ask the commitment register."""
    return False


def any_file(_ref: FileRef) -> str | None:
    """Accepts every file reference; services ask the attachment store
    (shared/attachments/presence.py) whether each file is there."""
    return None


@dataclass(frozen=True)
class LateEntryRules:
    """How far before its recording a fact may be dated (补录) without a
    supervisor (shared/domain/late_entries.py; settings TOUSU_LATE_*)."""

    # Within this, an earlier occurred_at is clock skew or transit, not a late entry.
    grace: timedelta = timedelta(minutes=5)
    # Staff registering a letter, a visit or a call.
    registration: timedelta = timedelta(days=30)
    # Any other step: back to the start of the day this many working days
    # before the recording day (0: the same day).
    step_working_days: int = 0


@dataclass(frozen=True)
class DecisionContext:
    calendar: WorkdayCalendar
    now: datetime
    limits_for: Callable[[str | None], Limits] = field(default=lambda _item: Limits())
    render: NoticeRenderer = plain_notice
    register_version: int | None = None
    # Why a classification cannot be accepted (unknown, or out of scope), or None.
    category_problem: Callable[[str, str | None], str | None] = any_category
    late_entries: LateEntryRules = LateEntryRules()
    # Why a classification given on registration names no known code, or None
    # (out-of-scope kinds are known codes: such a complaint is then rejected).
    classification_problem: Callable[[str, str | None], str | None] = any_category
    # Why a department cannot receive cases (not in the register), or None.
    department_problem: Callable[[str], str | None] = any_department
    # Why a service item cannot be named (not in the register), or None.
    service_item_problem: Callable[[str], str | None] = any_service_item
    # Why (handler, department) is not an active staff account of that
    # department (a handler or department head), or None.
    staff_problem: Callable[[str, str], str | None] = any_handler
    # Whether a service item's register entry allows resolving a simple
    # complaint after the investigation alone (shared/domain/handling_order.py).
    short_path_allowed: Callable[[str | None], bool] = no_short_path
    # Why a referenced file cannot be attached (not in the attachment store,
    # sealed for another complainant), or None. A file is stored before the
    # command that names it; the store's answers are fetched before deciding.
    attachment_problem: Callable[[FileRef], str | None] = any_file
    # Most files one step may carry (TOUSU_ATTACHMENTS_MAX_FILES).
    max_attachments: int = 5
    # Set only in the process of `tousu import` (tousu/importer/): an
    # administrator records an earlier system's history, under the rules of
    # shared/domain/imports.py. No running service sets it.
    importing: bool = False

    def deadline(self, kind: DeadlineKind, start: datetime, days: int) -> Deadline:
        due = self.calendar.add_working_days(start, days)
        return Deadline(kind=kind, due_at=due.at, working_days=days, provisional=due.provisional)
