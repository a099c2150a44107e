"""The staff actions as web forms: their fields, reading a posted form, and
sending the command as the API's ``ActionHandler`` does (same command ids,
same correlation, same client).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final, Literal

from pydantic import ValidationError
from starlette.requests import Request

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.complaints.actions import ACTIONS, MERGE, Action
from tousu.services.gateway.complaints.bodies import body_model
from tousu.services.gateway.complaints.client import CommandClient
from tousu.services.gateway.complaints.request_id import correlation_id
from tousu.services.gateway.complaints.routes import command_id
from tousu.services.gateway.problems import Lang, error_message
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.shared.calendar import TZ
from tousu.shared.domain.decide import MANUAL_SUPERVISION, WORKING
from tousu.shared.domain.state import ComplaintState
from tousu.shared.domain.status import FINAL, HANDLING, Status
from tousu.shared.events import utcnow
from tousu.shared.events.types import Satisfaction
from tousu.shared.naming import Naming

Kind = Literal["text", "textarea", "number", "checkbox", "yesno", "lines", "choice", "date"]
# Rows of the handling plan's form (measure, owner, date); more can be added later.
PLAN_ROWS: Final = 3
KEY_FIELD: Final = "idempotency_key"
# The evidence form's files and choice (services/gateway/web/staff/evidence.py).
EVIDENCE_FIELD: Final = "evidence"
SHARE_FIELD: Final = "share_with_complainant"
# The case's version the form was shown with (optimistic concurrency).
VERSION_FIELD: Final = "case_version"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: Kind = "textarea"
    required: bool = False
    hint: str | None = None
    # (value, label) of a "choice" field's radio buttons.
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WebAction:
    action: Action
    title: str  # the form's heading and the button
    done: str  # the flash message after it succeeded
    states: frozenset[Status]
    fields: tuple[FormField, ...] = ()
    hint: str | None = None
    # The plan's measures, as rows of three fields.
    measures: bool = False
    # Its own name when it sends another action's command (unmerge sends merge's).
    key: str | None = None
    # Command fields taken from the case rather than the form.
    from_state: Callable[[ComplaintState, uuid.UUID], dict[str, Any]] | None = None
    # Takes evidence: files, and whether the complainant may see them
    # (services/gateway/web/staff/evidence.py).
    evidence: bool = False

    @property
    def name(self) -> str:
        return self.key or self.action.name

    def allowed(self, principal: Principal, status: Status | None) -> bool:
        return principal.role in self.action.roles and status in self.states


_BY_NAME = {a.name: a for a in ACTIONS}
INVALID = N_("Please check this value.")
EXTENSION_LIMIT = N_("Extensions may total at most 10 working days.")
MEASURE = N_("Measure")
OWNER = N_("Owner")
DUE_ON = N_("To be done by (YYYY-MM-DD)")
SATISFACTION_NAMES: Final[dict[str, str]] = {
    Satisfaction.SATISFIED.value: N_("Satisfied"),
    Satisfaction.BASICALLY_SATISFIED.value: N_("Basically satisfied"),
    Satisfaction.DISSATISFIED.value: N_("Dissatisfied"),
    Satisfaction.UNREACHABLE.value: N_("Could not be reached"),
}


def _manual_supervision(_state: ComplaintState, _complaint_id: uuid.UUID) -> dict[str, Any]:
    return {"kind": MANUAL_SUPERVISION}


def _end_of_day(value: str) -> str:
    """A form's date (YYYY-MM-DD) as the end of that day in Beijing time; any
    other text as it is, for the command's own check to refuse at the field."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    return datetime.combine(day, time(23, 59, 59), TZ).isoformat()


def _unmerge_fields(state: ComplaintState, complaint_id: uuid.UUID) -> dict[str, Any]:
    return {
        "primary_complaint_id": state.merged_into,
        "duplicate_complaint_id": str(complaint_id),
        "linked": False,
    }


WEB_ACTIONS: Final[tuple[WebAction, ...]] = (
    WebAction(
        _BY_NAME["claim"],
        N_("Claim this case"),
        N_("The case is claimed: it is yours to handle."),
        frozenset({Status.ROUTED}),
        hint=N_("Claiming makes you the handler; the claim deadline is then met."),
    ),
    WebAction(
        _BY_NAME["return"],
        N_("Return to the dispatcher"),
        N_("The case has been returned."),
        frozenset({Status.ROUTED, Status.CLAIMED}),
        (
            FormField("reason", N_("Reason for returning"), required=True),
            FormField(
                "basis",
                N_("Basis"),
                required=True,
                hint=N_("The rule or division of duties that puts it outside the department."),
            ),
        ),
        hint=N_("Allowed within 2 working days of routing; a second return goes to arbitration."),
    ),
    WebAction(
        _BY_NAME["investigation"],
        N_("Record the investigation"),
        N_("The investigation has been recorded."),
        WORKING,
        (
            FormField("findings", N_("Findings"), required=True),
            FormField(
                "methods",
                N_("Methods"),
                kind="lines",
                hint=N_("One per line, e.g. site visit, records checked, people interviewed."),
            ),
        ),
        evidence=True,
    ),
    WebAction(
        _BY_NAME["plan"],
        N_("Propose a handling plan"),
        N_("The handling plan has been recorded."),
        WORKING,
        (FormField("summary", N_("Summary of the plan")),),
        measures=True,
        evidence=True,
    ),
    WebAction(
        _BY_NAME["consultation"],
        N_("Record the complainant's opinion on the plan"),
        N_("The complainant's opinion has been recorded."),
        WORKING,
        (
            FormField("agrees", N_("Does the complainant agree with the plan?"), kind="yesno"),
            FormField("opinion", N_("Their opinion")),
        ),
    ),
    WebAction(
        _BY_NAME["progress"],
        N_("Report progress"),
        N_("The progress has been recorded."),
        WORKING,
        (
            FormField("progress", N_("Progress"), required=True),
            FormField("notify_complainant", N_("Tell the complainant about it"), kind="checkbox"),
        ),
        evidence=True,
    ),
    WebAction(
        _BY_NAME["extension"],
        N_("Request an extension"),
        N_("The extension has been requested: supervision decides on it."),
        HANDLING,
        (
            FormField(
                "working_days",
                N_("Working days"),
                kind="number",
                required=True,
                hint=N_("At most 10 working days in all."),
            ),
            FormField("reason", N_("Reason for the extension"), required=True),
        ),
    ),
    WebAction(
        _BY_NAME["resolve"],
        N_("Record the result"),
        N_("The result has been recorded: send it to the complainant next."),
        HANDLING,
        (
            FormField("result", N_("Result"), required=True),
            FormField("basis", N_("Basis"), required=True),
            FormField("improvements", N_("Improvement measures")),
        ),
        evidence=True,
    ),
    # The register's short path (docs/handling-order.md): offered only where
    # the service item allows it and a step of the full order is left out
    # (services/gateway/web/staff/handling_steps.py).
    WebAction(
        _BY_NAME["resolve"],
        N_("Record the result by the short path"),
        N_("The result has been recorded by the short path: send it to the complainant next."),
        HANDLING,
        (
            FormField("result", N_("Result"), required=True),
            FormField("basis", N_("Basis"), required=True),
            FormField("improvements", N_("Improvement measures")),
        ),
        hint=N_(
            "The commitment register allows a simple case of this service item to be resolved "
            "after the investigation, without a written plan and the complainant's opinion "
            "on it. The record says the short path was taken."
        ),
        key="resolve-short",
        from_state=lambda _state, _cid: {"short_path": True},
        evidence=True,
    ),
    WebAction(
        _BY_NAME["feedback"],
        N_("Send the result to the complainant"),
        N_("The result has been sent to the complainant."),
        frozenset({Status.RESOLVED}),
        hint=N_("Sent through the channel the complainant chose; the follow-up visit is then due."),
    ),
    # After the result is fed back: 回访 and, while the complainant is not
    # satisfied, re-handling (再处理); and undoing a merge made in error.
    WebAction(
        _BY_NAME["follow-up"],
        N_("Record the follow-up visit"),
        N_("The follow-up has been recorded."),
        frozenset({Status.FED_BACK}),
        (
            FormField(
                "satisfaction",
                N_("Is the complainant satisfied with the result?"),
                kind="choice",
                required=True,
                choices=tuple(SATISFACTION_NAMES.items()),
                hint=N_(
                    "Dissatisfied: the case goes back to the department to be handled again. "
                    "Satisfied or basically satisfied: the case is closed."
                ),
            ),
            FormField("comment", N_("Comment")),
        ),
    ),
    WebAction(
        _BY_NAME["reopen"],
        N_("Reopen for handling again"),
        N_("The case has been reopened and goes back to the department."),
        frozenset({Status.FED_BACK, Status.CLOSED}),
        (FormField("reason", N_("Reason for reopening"), required=True),),
        hint=N_("The department handles it again, with a new feedback deadline."),
    ),
    # A supervisor's own 督办 (supervision channel): the reason and, if set,
    # the date by which the department is to have answered it.
    WebAction(
        _BY_NAME["supervise"],
        N_("Supervise this case (督办)"),
        N_("The supervision notice has been raised: it is on the supervision office's list."),
        frozenset(Status) - FINAL - {Status.MERGED},
        (
            FormField("note", N_("Reason for the supervision notice"), required=True),
            FormField(
                "respond_by",
                N_("To be answered by"),
                kind="date",
                hint=N_("Optional: the day by which the department is to have answered."),
            ),
        ),
        hint=N_(
            "The notice is recorded on the case, where the holding department sees it; "
            "it stays open until the case is closed."
        ),
        from_state=_manual_supervision,
        evidence=True,
    ),
    WebAction(
        MERGE,
        N_("Undo the merge"),
        N_("The merge has been undone: the complaint is handled on its own again."),
        frozenset({Status.MERGED}),
        hint=N_("For a complaint merged by mistake: it goes back to where it stood."),
        key="unmerge",
        from_state=_unmerge_fields,
    ),
)

BY_NAME: Final[dict[str, WebAction]] = {a.name: a for a in WEB_ACTIONS}


def available(principal: Principal, status: Status | None) -> list[WebAction]:
    return [a for a in WEB_ACTIONS if a.allowed(principal, status)]


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def read_form(wa: WebAction, raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """(the values to show again, the command's fields) of a posted form."""
    values: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for f in wa.fields:
        value = _text(raw, f.name)
        values[f.name] = value
        if f.kind == "checkbox":
            fields[f.name] = bool(value)
        elif f.kind == "yesno":
            fields[f.name] = {"yes": True, "no": False}.get(value)
        elif f.kind == "choice":
            if value in {v for v, _ in f.choices}:
                fields[f.name] = value
        elif f.kind == "lines":
            fields[f.name] = [line.strip() for line in value.splitlines() if line.strip()]
        elif f.kind == "date":
            if value:
                fields[f.name] = _end_of_day(value)
        elif value:
            fields[f.name] = value
    if wa.measures:
        measures = []
        for row in range(1, PLAN_ROWS + 1):
            cells = {k: _text(raw, f"{k}_{row}") for k in ("measure", "owner", "due_on")}
            values.update({f"{k}_{row}": v for k, v in cells.items()})
            if any(cells.values()):
                measures.append({k: v or None for k, v in cells.items()})
        fields["measures"] = measures
    if wa.evidence:
        # Shown again ticked if it was; the files themselves cannot be.
        values[SHARE_FIELD] = _text(raw, SHARE_FIELD)
    return values, fields


def _form_field(wa: WebAction, loc: tuple[Any, ...]) -> str:
    if not loc:
        return "form"
    head = str(loc[0])
    if head == "attachments":  # the files, refused by the service: at the file input
        return EVIDENCE_FIELD
    if head == "measures":
        row = int(loc[1]) + 1 if len(loc) > 1 and isinstance(loc[1], int) else 1
        cell = str(loc[2]) if len(loc) > 2 else "measure"
        return f"{cell}_{row}"
    return head if any(f.name == head for f in wa.fields) else "form"


def check(wa: WebAction, fields: dict[str, Any], lang: Lang) -> dict[str, str]:
    """The form's errors, by form field: the body model the API checks with."""
    try:
        body_model(wa.action.command).model_validate(fields)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = _form_field(wa, tuple(error.get("loc", ())))
            errors.setdefault(name, error_message(error, lang))
        return errors
    return {}


def service_errors(wa: WebAction, problem_errors: list[Any], lang: Lang) -> dict[str, str]:
    """What the service refused (``body.working_days`` …), at the form's fields."""
    errors: dict[str, str] = {}
    for error in problem_errors:
        field = str(error.get("field", "")) if isinstance(error, Mapping) else ""
        name = _form_field(wa, tuple(field.removeprefix("body.").split(".")))
        message = EXTENSION_LIMIT if name == "working_days" else INVALID
        errors.setdefault(name, gettext(lang, message))
    return errors or {"form": gettext(lang, INVALID)}


def seen_version(raw: Mapping[str, Any]) -> int | None:
    """The case version a posted form carries; None if absent or not a number."""
    value = str(raw.get(VERSION_FIELD, "")).strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


async def send_action(
    request: Request,
    naming: Naming,
    action: Action,
    complaint_id: uuid.UUID,
    principal: Principal,
    fields: Mapping[str, Any],
    key: str | None,
) -> Any:
    """Send ``action`` for ``principal``; the service's result, or a DomainProblem.

    ``key`` plays the Idempotency-Key: a form sent twice (a double click, a
    resend after a timeout) is one command.
    """
    command = action.command.model_validate(
        {
            **fields,
            "actor": principal.actor(),
            "occurred_at": utcnow(),
            "command_id": command_id(key or None, complaint_id, action.name),
            "correlation_id": correlation_id(request),
        }
    )
    client = CommandClient(request.app.state.connections.nats, naming)
    return await client.send(action, complaint_id, command)
