"""Imported history (`tousu import`): what the domain lets an administrator
record from an earlier system, and how every imported step is marked.

An import decides with a context of its own (``DecisionContext.importing``),
made only in the process of ``tousu import`` (tousu/importer/): no command
sent to a running service can claim it. Under it:

- only an **administrator** records, and every step of an imported case is
  theirs: the old system's record of a department's work is entered by the
  one who imports it, not by the department;
- the **result may be recorded on a routed case**, without a claim,
  investigation, plan or consultation on record (the old system kept none of
  them); the resolution says the full order is not on record (``short_path``);
- every step is marked as a late entry in the window ``import``, however old,
  approved by that administrator with the import's reason
  (``导入：<source> <old id>``), so the timeline and the KPIs can tell it.

Everything else is checked as for any command: the order of the dates, the
references (categories, departments, service items), the channel's facts and
every transition. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tousu.shared.domain import commands as c
from tousu.shared.domain.errors import Forbidden, InvalidCommand
from tousu.shared.events import Envelope
from tousu.shared.events import types as ev

IMPORT_WINDOW = "import"
IMPORTER_ROLE = "admin"
# The late_reason of an imported step starts with it: "导入：<source> <old id>".
REASON_PREFIX = "导入："
# The steps an earlier system's record becomes, in the order they may happen.
IMPORTED_COMMANDS: frozenset[type[c.Command]] = frozenset(
    {
        c.SubmitComplaint,
        c.AcceptComplaint,
        c.RejectComplaint,
        c.RouteComplaint,
        c.ResolveComplaint,
        c.SendFeedback,
        c.RecordFollowUp,
    }
)


def import_reason(source: str, old_id: str) -> str:
    """The late_reason every step of one imported complaint carries."""
    return f"{REASON_PREFIX}{source} {old_id}"


def authorise_import(command: c.Command) -> None:
    """Only an administrator imports, and only the steps an old record becomes."""
    if command.actor.role != IMPORTER_ROLE:
        raise Forbidden(
            f"only an administrator imports history; role {command.actor.role} may not",
            role=command.actor.role,
            command=command.name(),
        )
    if type(command) not in IMPORTED_COMMANDS:
        raise Forbidden(
            f"{command.name()} is not a step an import records",
            role=command.actor.role,
            command=command.name(),
        )


def imported_mark(command: c.Command, now: datetime) -> ev.LateEntryRecorded:
    """The mark of an imported step: always (an import is recorded after the
    fact, however little), approved by the importing administrator."""
    if command.late_reason is None:
        raise InvalidCommand(
            "late_reason", f"an imported step needs its reason ({REASON_PREFIX}<source> <old id>)"
        )
    late_by = max(now - command.occurred_at, timedelta(0))
    return ev.LateEntryRecorded(
        events=[],  # filled in by decide, once the events are known
        late_by_seconds=int(late_by.total_seconds()),
        window=IMPORT_WINDOW,
        within_window=True,
        reason=command.late_reason,
        approved_by=command.actor.id,
    )


def is_imported(mark: ev.LateEntryRecorded) -> bool:
    """Whether a late-entry mark marks imported history."""
    return mark.window == IMPORT_WINDOW


def imported_versions(history: Sequence[Envelope]) -> set[int]:
    """The versions of a stream's events that an import recorded (its marks
    follow the events they mark). Such history was told to its complainant
    by the earlier system: nobody sends its notices again."""
    out: set[int] = set()
    for envelope in history:
        if envelope.type == ev.LateEntryRecorded.event_type():
            if envelope.data.get("window") == IMPORT_WINDOW:
                marked = len(envelope.data.get("events", []))
                out.update(range(envelope.version - marked, envelope.version))
    return out
