"""One old record → the commands its history is, decided by the domain.

Each row becomes the steps an administrator would have recorded, each dated
by the old system's date for it: registration (received_at), acceptance or
rejection (accepted_at), routing (routed_at), the result and its feedback
(fed_back_at), the follow-up (closed_at, with the satisfaction). They are
built as the real commands and decided in memory, one after the other, by
the domain's ``decide`` under the import's context
(shared/domain/imports.py): a row the domain refuses at any step is refused
whole, naming the field, and nothing of it is written. Pure, apart from the
clock the context carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tousu.importer.mapping import STATUSES, Field_, Mapping
from tousu.importer.rows import Row
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import decide, evolve
from tousu.shared.domain.context import DecisionContext
from tousu.shared.domain.errors import DomainError, InvalidCommand
from tousu.shared.domain.imports import import_reason
from tousu.shared.domain.state import ComplaintState
from tousu.shared.domain.status import Status
from tousu.shared.events import Actor, NewEvent, complaint_stream, utcnow
from tousu.shared.events.envelope import stored
from tousu.shared.intake.duplicates import normalize_email, normalize_phone
from tousu.shared.intake.submission import Submission

# Imported complaints' ids derive from "<source>:<old id>": a second run, or
# a run cut short and started again, finds them.
IMPORT_NAMESPACE = uuid.UUID("5f3c1a7e-2b64-4f0e-9c1d-8a2e6b7d4c90")
# How far each status goes: the steps recorded for it.
_STAGE = {status: i for i, status in enumerate(STATUSES)}
# The row field a command's occurred_at comes from, to say which date is wrong.
_DATE_OF: dict[type[c.Command], Field_] = {
    c.SubmitComplaint: "received_at",
    c.AcceptComplaint: "accepted_at",
    c.RejectComplaint: "accepted_at",
    c.RouteComplaint: "routed_at",
    c.ResolveComplaint: "fed_back_at",
    c.SendFeedback: "fed_back_at",
    c.RecordFollowUp: "closed_at",
}
# A command's own field → the row field it came from.
_FIELD_OF: dict[str, str] = {
    "external_ref": "external_id",
    "reason": "result",
    "result": "result",
    "complainant.name": "complainant_name",
    "complainant.phone": "complainant_phone",
    "complainant.email": "complainant_email",
    "complainant.address": "complainant_address",
    "complainant": "complainant_phone",
}


def complaint_id_of(source: str, old_id: str) -> uuid.UUID:
    return uuid.uuid5(IMPORT_NAMESPACE, f"{source}:{old_id}")


@dataclass(frozen=True)
class Refusal:
    row: int
    old_id: str
    field: str
    reason: str


@dataclass(frozen=True)
class Decided:
    row: int
    old_id: str
    complaint_id: uuid.UUID
    tracking_no: str
    received_at: datetime
    events: list[NewEvent]
    status: Status


class Refused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _validation(exc: ValidationError, default: str) -> Refused:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not isinstance(p, int))
    field = _FIELD_OF.get(loc, loc or default)
    if first.get("input") is None:  # a blank cell
        return Refused(field, "blank: this field is required here")
    return Refused(field, f"{first['msg']}")


class Recorder:
    """Decides rows of one import: ``source`` and the administrator ``actor``."""

    def __init__(
        self,
        mapping: Mapping,
        actor: Actor,
        context: Callable[[], DecisionContext],
        *,
        source: str | None = None,
    ) -> None:
        self.mapping = mapping
        self.source = source or mapping.source
        self.actor = actor
        self._context = context

    def old_id(self, row: Row) -> str | None:
        return self.mapping.value(row.values, "external_id")

    def decide(self, row: Row, tracking_no: str) -> Decided | Refusal:
        old_id = self.old_id(row) or ""
        try:
            return self._decide(row, old_id, tracking_no)
        except Refused as refused:
            return Refusal(row.number, old_id, refused.field, refused.reason)

    def _dates(self, row: Row) -> dict[str, datetime | None]:
        out: dict[str, datetime | None] = {}
        names: tuple[Field_, ...] = (
            "received_at",
            "accepted_at",
            "routed_at",
            "fed_back_at",
            "closed_at",
        )
        for name in names:
            try:
                out[name] = self.mapping.instant(row.values, name)
            except ValueError as exc:
                raise Refused(name, str(exc)) from None
        return out

    def _status(self, row: Row, dates: dict[str, datetime | None]) -> str:
        status = self.mapping.value(row.values, "status")
        if status is None:  # how far the dates go
            status = (
                "closed"
                if dates["closed_at"] and self.mapping.value(row.values, "satisfaction")
                else "fed_back"
                if dates["fed_back_at"]
                else "routed"
                if dates["routed_at"]
                else "accepted"
                if dates["accepted_at"]
                else "received"
            )
        if status not in _STAGE:
            raise Refused("status", f"unknown status {status!r}; allowed: {', '.join(STATUSES)}")
        return status

    def _decide(self, row: Row, old_id: str, tracking_no: str) -> Decided:
        m, v = self.mapping, row.values
        if not old_id:
            raise Refused("external_id", "the old system's id is missing")
        dates = self._dates(row)
        received_at = dates["received_at"]
        if received_at is None:
            raise Refused("received_at", "the date received is missing")
        status = self._status(row, dates)
        stage = _STAGE[status]
        reason = import_reason(self.source, old_id)
        complaint_id = complaint_id_of(self.source, old_id)
        try:
            submission = Submission.model_validate(
                {
                    "channel": m.value(v, "channel"),
                    "external_ref": f"import:{self.source}:{old_id}",
                    "subject": m.value(v, "subject"),
                    "description": m.value(v, "description") or m.value(v, "subject"),
                    "location": m.value(v, "location"),
                    "complainant": {
                        "name": m.value(v, "complainant_name"),
                        "phone": m.value(v, "complainant_phone"),
                        "email": m.value(v, "complainant_email"),
                        "address": m.value(v, "complainant_address"),
                    },
                    "received_at": received_at,
                    "late_reason": reason,
                }
            )
        except ValidationError as exc:
            raise _validation(exc, "subject") from None
        problems = submission.missing()
        if problems:
            field, message = problems[0]
            raise Refused(_FIELD_OF.get(field, field), message)
        who = submission.complainant
        steps: list[tuple[type[c.Command], dict[str, Any]]] = [
            (
                c.SubmitComplaint,
                {
                    **submission.model_dump(exclude={"received_at", "complainant"}),
                    "complainant": who.model_copy(
                        update={
                            "phone": normalize_phone(who.phone) if who.phone else None,
                            "email": normalize_email(who.email) if who.email else None,
                        }
                    ),
                    "tracking_no": tracking_no,
                },
            )
        ]
        at: dict[type[c.Command], datetime | None] = {c.SubmitComplaint: received_at}

        def needs(field: Field_) -> datetime:
            value = dates[field]
            if value is None:
                raise Refused(field, f"a case with status {status} needs {field}")
            return value

        if status == "rejected":
            steps.append(
                (
                    c.RejectComplaint,
                    {
                        "reason": m.value(v, "result"),
                        "suggestion": m.defaults.rejection_suggestion,
                    },
                )
            )
            at[c.RejectComplaint] = needs("accepted_at")
        elif stage >= _STAGE["accepted"]:
            fields: dict[str, Any] = {"category": m.value(v, "category")}
            if m.value(v, "subcategory"):
                fields["subcategory"] = m.value(v, "subcategory")
            steps.append((c.AcceptComplaint, fields))
            at[c.AcceptComplaint] = needs("accepted_at")
            if stage >= _STAGE["routed"]:
                steps.append((c.RouteComplaint, {"department": m.value(v, "department")}))
                # Many old systems route as they accept: one date for both.
                at[c.RouteComplaint] = dates["routed_at"] or dates["accepted_at"]
            if stage >= _STAGE["fed_back"]:
                result = {
                    "result": m.value(v, "result") or m.defaults.result,
                    "basis": m.defaults.basis,
                }
                steps.append((c.ResolveComplaint, result))
                steps.append((c.SendFeedback, {}))
                at[c.ResolveComplaint] = at[c.SendFeedback] = needs("fed_back_at")
            satisfaction = m.value(v, "satisfaction")
            if stage >= _STAGE["fed_back"] and (satisfaction or status == "closed"):
                if satisfaction is None:
                    raise Refused("satisfaction", f"a case with status {status} needs satisfaction")
                steps.append((c.RecordFollowUp, {"satisfaction": satisfaction}))
                at[c.RecordFollowUp] = needs("closed_at")
        state = ComplaintState()
        stream = complaint_stream(complaint_id)
        events: list[NewEvent] = []
        for command_type, fields in steps:
            date_field = _DATE_OF[command_type]
            try:
                command = command_type.model_validate(
                    {
                        **fields,
                        "actor": self.actor,
                        "occurred_at": at[command_type],
                        "late_reason": reason,
                        # Deterministic event ids: a write retried after a
                        # lost reply appends nothing twice.
                        "command_id": uuid.uuid5(complaint_id, command_type.name()),
                    }
                )
            except ValidationError as exc:
                raise _validation(exc, date_field) from None
            try:
                new = decide(state, command, self._context())
            except InvalidCommand as refusal:
                if refusal.field == "occurred_at":  # said as the row's date
                    message = refusal.message.replace("occurred_at", date_field)
                    raise Refused(date_field, message) from None
                field = _FIELD_OF.get(refusal.field, refusal.field)
                raise Refused(field, refusal.message) from None
            except DomainError as refusal:
                raise Refused("status", refusal.message) from None
            now = utcnow()
            for event in new:
                state = evolve(
                    state,
                    stored(
                        event,
                        stream_id=stream,
                        version=state.version + 1,
                        global_position=state.version + 1,  # in memory only
                        recorded_at=now,
                    ),
                )
            events.extend(new)
        if status == "closed" and state.status != Status.CLOSED:
            raise Refused(
                "satisfaction",
                f"the follow-up left the case {state.status}: a closed case was "
                "satisfied or basically satisfied",
            )
        assert state.status is not None
        return Decided(
            row.number, old_id, complaint_id, tracking_no, received_at, events, state.status
        )
