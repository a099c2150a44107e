"""decide(state, command, context) → the events that command causes, or a DomainError.

Pure: no I/O, no clock (the context carries "now"), nothing appended on refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tousu.shared.domain import commands as c
from tousu.shared.domain.actors import channel_of, check_channel, is_department_system
from tousu.shared.domain.context import DecisionContext, Limits
from tousu.shared.domain.errors import (
    Forbidden,
    IllegalTransition,
    InvalidCommand,
    NotFound,
    StaleVersion,
)
from tousu.shared.domain.handling_order import missing_before, refusal_reason
from tousu.shared.domain.imports import authorise_import
from tousu.shared.domain.late_entries import assess, check_order
from tousu.shared.domain.state import ComplaintState
from tousu.shared.domain.status import FINAL, HANDLING, Status
from tousu.shared.events import EventData, NewEvent, new_event
from tousu.shared.events import types as ev
from tousu.shared.events.types import DeadlineKind, Satisfaction
from tousu.shared.staff.directory import USERNAME

Decider = Callable[[ComplaintState, Any, DecisionContext], list[tuple[EventData, str | None]]]

# Who may issue each command. Department roles are further confined to the
# department holding the case.
STAFF_INTAKE = frozenset({"operator", "supervisor", "admin", "system"})
DEPARTMENT = frozenset({"handler", "dept_head"})
SUPERVISION = frozenset({"supervisor", "admin"})
ROLES: dict[type[c.Command], frozenset[str]] = {
    c.SubmitComplaint: STAFF_INTAKE | {"complainant"},
    c.AcceptComplaint: STAFF_INTAKE,
    c.RejectComplaint: STAFF_INTAKE,
    c.RouteComplaint: STAFF_INTAKE,
    c.ClaimCase: DEPARTMENT,
    c.ReturnCase: DEPARTMENT,
    c.RecordInvestigation: DEPARTMENT,
    c.ProposePlan: DEPARTMENT,
    c.RecordConsultation: DEPARTMENT,
    c.ReportProgress: DEPARTMENT,
    c.RequestExtension: DEPARTMENT,
    c.DecideExtension: SUPERVISION,
    c.ResolveComplaint: DEPARTMENT,
    c.SendFeedback: DEPARTMENT | STAFF_INTAKE,
    c.RecordFollowUp: STAFF_INTAKE | {"complainant"},
    c.ReopenComplaint: SUPERVISION,
    c.LinkDuplicate: STAFF_INTAKE,
    c.RaiseSupervision: SUPERVISION | {"system"},
    # Run by the calendar import, or by an administrator after fixing a year.
    c.RecalculateDeadlines: frozenset({"system", "admin"}),
}
# Dissatisfied rounds after which supervision steps in; unreachable follow-up
# attempts after which the case is closed as such.
SUPERVISE_AFTER_DISSATISFIED = 3
CLOSE_AFTER_UNREACHABLE = 3
# The kind of a 督办 a supervisor raises by hand (on the case page or the API).
MANUAL_SUPERVISION = "manual"

Emitted = list[tuple[EventData, str | None]]  # event data, department holding after it


def decide(state: ComplaintState, command: c.Command, ctx: DecisionContext) -> list[NewEvent]:
    decider = _DECIDERS[type(command)]
    if not state.exists and not isinstance(command, c.SubmitComplaint):
        raise NotFound("no such complaint")
    _authorise(state, command, ctx)
    if command.expected_version is not None and command.expected_version != state.version:
        raise StaleVersion(command.name(), state.status, command.expected_version, state.version)
    check_order(state, command, ctx)
    late = assess(command, ctx)
    try:
        emitted = decider(state, command, ctx)
    except IllegalTransition as refusal:
        # The sender is shown what the case is now, version included, so they
        # can look again and decide; the deciders know the status only.
        refusal.details.setdefault("version", state.version)
        raise
    if late is not None and emitted:
        # The mark follows what it marks, in the same append.
        mark = late.model_copy(update={"events": [d.event_type() for d, _ in emitted]})
        emitted = [*emitted, (mark, emitted[-1][1])]
    # One act, one correlation: every event of this decision carries the same
    # one (a resend's id names the act, so its events correlate alike).
    correlation_id = command.correlation_id or command.command_id or uuid.uuid4()
    return [
        new_event(
            data,
            event_id=_event_id(command, i),
            actor=command.actor,
            occurred_at=command.occurred_at,
            department=department,
            correlation_id=correlation_id,
            causation_id=command.causation_id,
        )
        for i, (data, department) in enumerate(emitted)
    ]


def _event_id(command: c.Command, index: int) -> uuid.UUID:
    if command.command_id is None:
        return uuid.uuid4()
    return uuid.uuid5(command.command_id, str(index))


def _authorise(state: ComplaintState, command: c.Command, ctx: DecisionContext) -> None:
    if ctx.importing:
        authorise_import(command)
        return
    role = command.actor.role
    if role not in ROLES[type(command)]:
        raise Forbidden(f"role {role} may not {command.name()}", role=role, command=command.name())
    if channel_of(command.actor) is not None and not isinstance(command, c.SubmitComplaint):
        # A channel's adapter is a system only for what it brings in.
        raise Forbidden(
            f"a channel's adapter may not {command.name()}", role=role, command=command.name()
        )
    if role in DEPARTMENT and state.exists:
        if command.actor.department is None or command.actor.department != state.department:
            # Not "forbidden": a department must not learn other departments' cases exist.
            raise NotFound("no such complaint in your department")


def _require(
    state: ComplaintState, command: c.Command, allowed: frozenset[Status] | set[Status]
) -> None:
    if state.status not in allowed:
        raise IllegalTransition(command.name(), state.status)


def _limits(state: ComplaintState, ctx: DecisionContext) -> Limits:
    return ctx.limits_for(state.service_item)


# -- references -----------------------------------------------------------------
# A command names departments, people, codes: each must exist (the context's
# lookups say why not), or the record would hold a case nobody can see, a
# person who is not there, a code no report knows.
def _check_classification(
    problem_of: Callable[[str, str | None], str | None], category: str, subcategory: str | None
) -> None:
    problem = problem_of(category, None)
    if problem is not None:
        raise InvalidCommand("category", problem)
    if subcategory is not None:
        problem = problem_of(category, subcategory)
        if problem is not None:
            raise InvalidCommand("subcategory", problem)


def _check_service_item(item: str | None, ctx: DecisionContext) -> None:
    if item is not None:
        problem = ctx.service_item_problem(item)
        if problem is not None:
            raise InvalidCommand("service_item", problem)


def _check_handler(handler: str, department: str, cmd: c.ClaimCase, ctx: DecisionContext) -> None:
    # Whom a case is claimed for is whose figures it counts in: a handler
    # claims for himself, only the department head assigns it to another.
    # A department's own system is no person: it claims for one of the
    # department's staff, as the department head would.
    system = is_department_system(cmd.actor)
    if system and handler == cmd.actor.id:
        raise InvalidCommand(
            "handler", "a department's system names the staff member who handles the case"
        )
    if handler != cmd.actor.id and cmd.actor.role != "dept_head" and not system:
        raise InvalidCommand(
            "handler", "only a department head may assign a case to someone else; claim it yourself"
        )
    if not USERNAME.fullmatch(handler):
        shown = handler if len(handler) <= 64 else handler[:64] + "…"
        raise InvalidCommand(
            "handler",
            f"{shown!r} is not a staff username (1-64 lower-case letters, digits, '.', '_', '-')",
        )
    problem = ctx.staff_problem(handler, department)
    if problem is not None:
        raise InvalidCommand("handler", problem)


def _files(cmd: c.Attaching, s: ComplaintState, ctx: DecisionContext) -> list[ev.FileRef]:
    """The files a step carries, checked: no more than the deployment allows,
    each once, each in the attachment store (sealed for this case's
    complainant), and none made public by the complainant (only staff publish)."""
    files = cmd.attachments
    if len(files) > ctx.max_attachments:
        raise InvalidCommand(
            "attachments", f"at most {ctx.max_attachments} files per step; {len(files)} given"
        )
    seen: set[str] = set()
    for ref in files:
        if ref.sha256 in seen:
            raise InvalidCommand("attachments", f"{ref.name}: the same file is attached twice")
        seen.add(ref.sha256)
        owner = s.complainant.key if s.complainant is not None else None
        if owner is not None and ref.owner != owner:
            raise InvalidCommand(
                "attachments", f"{ref.name}: not sealed for this case's complainant"
            )
        problem = ctx.attachment_problem(ref)
        if problem is not None:
            raise InvalidCommand("attachments", f"{ref.name}: {problem}")
    if isinstance(cmd, c.Command) and cmd.actor.role == "complainant":
        if any(ref.public or ref.shared_with_complainant for ref in files):
            raise InvalidCommand(
                "attachments", "a complainant's own files are theirs; only staff publish a file"
            )
    return list(files)


# -- intake -------------------------------------------------------------------
def _submit(s: ComplaintState, cmd: c.SubmitComplaint, ctx: DecisionContext) -> Emitted:
    if s.exists:
        raise IllegalTransition(cmd.name(), s.status, "the complaint exists already")
    check_channel(cmd.actor, cmd.channel.value)
    if cmd.category is not None:
        _check_classification(ctx.classification_problem, cmd.category, cmd.subcategory)
    elif cmd.subcategory is not None:
        raise InvalidCommand("subcategory", "a subcategory needs its category")
    _check_service_item(cmd.service_item, ctx)
    limits = ctx.limits_for(cmd.service_item)
    data = ev.ComplaintReceived(
        tracking_no=cmd.tracking_no,
        channel=cmd.channel,
        external_ref=cmd.external_ref,
        complainant=cmd.complainant,
        subject=cmd.subject,
        description=cmd.description,
        happened_at=cmd.happened_at,
        location=cmd.location,
        people_involved=cmd.people_involved,
        demands=cmd.demands,
        category=cmd.category,
        subcategory=cmd.subcategory,
        service_item=cmd.service_item,
        register_version=ctx.register_version if cmd.service_item else None,
        access_code_hash=cmd.access_code_hash,
        related_tracking_no=cmd.related_tracking_no,
        related_complaint_id=_related(cmd),
        acceptance_deadline=ctx.deadline(
            DeadlineKind.ACCEPTANCE, cmd.occurred_at, limits.acceptance_days
        ),
        language=cmd.language,
        attachments=_files(cmd, s, ctx),
    )
    return [(data, None)]


def _related(cmd: c.SubmitComplaint) -> str | None:
    """The earlier complaint a 监督举报 names: the intake service finds it by
    its tracking number; a number that belongs to no complaint is refused."""
    if cmd.related_tracking_no is None:
        return None
    if cmd.related_complaint_id is None:
        raise InvalidCommand("related_tracking_no", "no complaint has this tracking number")
    return cmd.related_complaint_id


def _accept(s: ComplaintState, cmd: c.AcceptComplaint, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.RECEIVED})
    _check_classification(ctx.category_problem, cmd.category, cmd.subcategory)
    _check_service_item(cmd.service_item, ctx)
    limits = ctx.limits_for(cmd.service_item or s.service_item)
    feedback = ctx.deadline(DeadlineKind.FEEDBACK, cmd.occurred_at, limits.feedback_days)
    notice = ctx.render(
        "acceptance",
        s.language,
        tracking_no=s.tracking_no,
        subject=s.subject,
        category=cmd.category,
        accepted_at=cmd.occurred_at,
        feedback_due=feedback.due_at,
    )
    data = ev.ComplaintAccepted(
        category=cmd.category,
        subcategory=cmd.subcategory,
        service_item=cmd.service_item or s.service_item,
        register_version=ctx.register_version,
        verification_note=cmd.verification_note,
        notice_text=notice,
        feedback_deadline=feedback,
    )
    return [(data, None)]


def _reject(s: ComplaintState, cmd: c.RejectComplaint, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.RECEIVED})
    notice = ctx.render(
        "rejection",
        s.language,
        tracking_no=s.tracking_no,
        subject=s.subject,
        reason=cmd.reason,
        suggestion=cmd.suggestion,
        issued_at=cmd.occurred_at,  # dated, as the acceptance notice is
    )
    data = ev.ComplaintRejected(
        reason=cmd.reason,
        suggestion=cmd.suggestion,
        reason_code=cmd.reason_code,
        verification_note=cmd.verification_note,
        notice_text=notice,
    )
    return [(data, None)]


# -- routing ------------------------------------------------------------------
def _route(s: ComplaintState, cmd: c.RouteComplaint, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.ACCEPTED, Status.RETURNED, Status.ROUTED})
    if s.needs_arbitration and cmd.actor.role not in SUPERVISION:
        raise Forbidden(
            "returned twice: only the supervision office may route it (arbitration)",
            role=cmd.actor.role,
            command=cmd.name(),
        )
    problem = ctx.department_problem(cmd.department)
    if problem is not None:
        raise InvalidCommand("department", problem)
    if cmd.department == s.department:
        raise InvalidCommand("department", f"the case is with {cmd.department} already")
    if cmd.department in s.returned_by and cmd.actor.role not in SUPERVISION:
        raise InvalidCommand("department", f"{cmd.department} returned this case before")
    limits = _limits(s, ctx)
    feedback = s.deadlines[DeadlineKind.FEEDBACK]
    data = ev.ComplaintRouted(
        department=cmd.department,
        rule_id=cmd.rule_id,
        rule_version=cmd.rule_version,
        requirements=cmd.requirements,
        claim_deadline=ctx.deadline(DeadlineKind.CLAIM, cmd.occurred_at, limits.claim_days),
        return_deadline=ctx.deadline(DeadlineKind.RETURN, cmd.occurred_at, limits.return_days),
        feedback_deadline=feedback,
    )
    return [(data, cmd.department)]


def _claim(s: ComplaintState, cmd: c.ClaimCase, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.ROUTED})
    assert s.department is not None  # routed
    handler = cmd.handler if cmd.handler is not None else cmd.actor.id
    _check_handler(handler, s.department, cmd, ctx)
    return [(ev.CaseClaimed(department=s.department, handler=handler), s.department)]


def _return(s: ComplaintState, cmd: c.ReturnCase, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.ROUTED, Status.CLAIMED})
    assert s.department is not None
    window = s.deadlines.get(DeadlineKind.RETURN)
    if window is not None and cmd.occurred_at > window.due_at:
        raise IllegalTransition(
            cmd.name(), s.status, f"the return window ended at {window.due_at.isoformat()}"
        )
    count = s.return_count + 1
    out: Emitted = [
        (
            ev.CaseReturned(
                department=s.department, reason=cmd.reason, basis=cmd.basis, return_count=count
            ),
            s.department,
        )
    ]
    if count >= 2:
        out.append(
            (
                ev.SupervisionRaised(
                    kind="arbitration",
                    note=f"returned {count} times; last by {s.department}: {cmd.reason}",
                ),
                None,
            )
        )
    return out


# -- handling -----------------------------------------------------------------
WORKING = HANDLING | {Status.EXTENSION_PENDING}


def _investigate(s: ComplaintState, cmd: c.RecordInvestigation, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, WORKING)
    files = _files(cmd, s, ctx)
    data = ev.InvestigationRecorded(findings=cmd.findings, methods=cmd.methods, attachments=files)
    return [(data, s.department)]


def _in_order(
    s: ComplaintState, cmd: c.Command, ctx: DecisionContext, *, short_path: bool = False
) -> None:
    """Refuse a step whose earlier steps this round has not had (policy's
    处理流程: investigate, plan, consult, carry out), naming the first missing."""
    missing = missing_before(s, type(cmd), short_path=short_path)
    if missing:
        allowed = ctx.short_path_allowed(s.service_item) and not short_path
        refusal = IllegalTransition(
            cmd.name(), s.status, refusal_reason(missing, short_path_allowed=allowed)
        )
        refusal.details["missing_step"] = missing[0].value
        raise refusal


def _plan(s: ComplaintState, cmd: c.ProposePlan, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, WORKING)
    _in_order(s, cmd, ctx)
    files = _files(cmd, s, ctx)
    data = ev.HandlingPlanProposed(measures=cmd.measures, summary=cmd.summary, attachments=files)
    return [(data, s.department)]


def _consult(s: ComplaintState, cmd: c.RecordConsultation, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, WORKING)
    _in_order(s, cmd, ctx)
    return [(ev.ComplainantConsulted(agrees=cmd.agrees, opinion=cmd.opinion), s.department)]


def _progress(s: ComplaintState, cmd: c.ReportProgress, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, WORKING)
    # Carrying out follows the consulted plan; on a short-path item, the investigation.
    _in_order(s, cmd, ctx, short_path=ctx.short_path_allowed(s.service_item))
    notice = (
        ctx.render("progress", s.language, tracking_no=s.tracking_no, progress=cmd.progress)
        if cmd.notify_complainant
        else None
    )
    data = ev.ProgressReported(
        progress=cmd.progress,
        notify_complainant=cmd.notify_complainant,
        notice_text=notice,
        attachments=_files(cmd, s, ctx),
    )
    return [(data, s.department)]


def _request_extension(s: ComplaintState, cmd: c.RequestExtension, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, HANDLING)
    limit = _limits(s, ctx).max_extension_days
    if s.extension_days + cmd.working_days > limit:
        raise InvalidCommand(
            "working_days",
            f"extensions may total at most {limit} working days; "
            f"{s.extension_days} approved already",
        )
    return [(ev.ExtensionRequested(working_days=cmd.working_days, reason=cmd.reason), s.department)]


def _decide_extension(s: ComplaintState, cmd: c.DecideExtension, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.EXTENSION_PENDING})
    if not cmd.approved:
        return [
            (ev.ExtensionDecided(approved=False, working_days=0, reason=cmd.reason), s.department)
        ]
    days = cmd.working_days or s.pending_extension_days
    limit = _limits(s, ctx).max_extension_days
    if s.extension_days + days > limit:
        raise InvalidCommand("working_days", f"extensions may total at most {limit} working days")
    current = s.deadlines[DeadlineKind.FEEDBACK]
    extended = ctx.calendar.add_working_days(current.due_at, days)
    new = ev.Deadline(
        kind=DeadlineKind.FEEDBACK,
        due_at=extended.at,
        working_days=current.working_days + days,
        provisional=extended.provisional or current.provisional,
    )
    # The department's reason (its request), not the approver's comment; the
    # date it replaces and the length fill the notice's other lines.
    notice = ctx.render(
        "extension",
        s.language,
        tracking_no=s.tracking_no,
        subject=s.subject,
        feedback_due=new.due_at,
        reason=s.pending_extension_reason or cmd.reason or "",
        previous_due=current.due_at,
        working_days=days,
        issued_at=cmd.occurred_at,
    )
    data = ev.ExtensionDecided(
        approved=True,
        working_days=days,
        reason=cmd.reason,
        feedback_deadline=new,
        notice_text=notice,
    )
    return [(data, s.department)]


def _resolve(s: ComplaintState, cmd: c.ResolveComplaint, ctx: DecisionContext) -> Emitted:
    if s.status == Status.EXTENSION_PENDING:
        raise IllegalTransition(cmd.name(), s.status, "decide the extension request first")
    if ctx.importing:
        # An earlier system's result: no claim, investigation, plan or
        # consultation on record (shared/domain/imports.py); said so.
        _require(s, cmd, HANDLING | {Status.ROUTED})
        data = ev.ComplaintResolved(
            result=cmd.result,
            basis=cmd.basis,
            improvements=cmd.improvements,
            round=s.round,
            short_path=bool(missing_before(s, type(cmd))),
        )
        return [(data, s.department)]
    _require(s, cmd, HANDLING)
    if cmd.short_path and not ctx.short_path_allowed(s.service_item):
        raise InvalidCommand(
            "short_path",
            f"the service item {s.service_item or '(none)'} does not allow the short path "
            "in the commitment register: investigate, plan and consult first",
        )
    _in_order(s, cmd, ctx, short_path=cmd.short_path)
    data = ev.ComplaintResolved(
        result=cmd.result,
        basis=cmd.basis,
        improvements=cmd.improvements,
        round=s.round,
        # Recorded only when a step of the full order was actually left out.
        short_path=cmd.short_path and bool(missing_before(s, type(cmd))),
        attachments=_files(cmd, s, ctx),
    )
    return [(data, s.department)]


def _feedback(s: ComplaintState, cmd: c.SendFeedback, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.RESOLVED})
    preferred = s.complainant.preferred_channel if s.complainant else None
    channel = cmd.channel or preferred or s.channel
    assert channel is not None
    follow_up = ctx.deadline(
        DeadlineKind.FOLLOW_UP, cmd.occurred_at, _limits(s, ctx).follow_up_days
    )
    return [
        (ev.ResultFeedbackSent(channel=channel, round=s.round), s.department),
        (ev.FollowUpScheduled(due=follow_up), s.department),
    ]


# -- follow-up ----------------------------------------------------------------
def _follow_up(s: ComplaintState, cmd: c.RecordFollowUp, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.FED_BACK})
    followed = ev.ComplaintFollowedUp(
        satisfaction=cmd.satisfaction, comment=cmd.comment, round=s.round
    )
    out: Emitted = [(followed, s.department)]
    match cmd.satisfaction:
        case Satisfaction.SATISFIED | Satisfaction.BASICALLY_SATISFIED:
            out.append((ev.ComplaintClosed(reason=cmd.satisfaction.value), s.department))
        case Satisfaction.UNREACHABLE:
            if s.unreachable_count + 1 >= CLOSE_AFTER_UNREACHABLE:
                out.append((ev.ComplaintClosed(reason="unreachable"), s.department))
        case Satisfaction.DISSATISFIED:
            out.extend(_reopen_events(s, cmd.comment or "回访不满意", cmd, ctx))
            if s.dissatisfied_count + 1 >= SUPERVISE_AFTER_DISSATISFIED:
                out.append(
                    (
                        ev.SupervisionRaised(
                            kind="repeated_dissatisfaction",
                            note=f"dissatisfied after {s.dissatisfied_count + 1} rounds",
                        ),
                        s.department,
                    )
                )
    return out


def _reopen_events(s: ComplaintState, reason: str, cmd: c.Command, ctx: DecisionContext) -> Emitted:
    feedback = ctx.deadline(DeadlineKind.FEEDBACK, cmd.occurred_at, _limits(s, ctx).feedback_days)
    return [
        (
            ev.ComplaintReopened(reason=reason, round=s.round + 1, feedback_deadline=feedback),
            s.department,
        )
    ]


def _reopen(s: ComplaintState, cmd: c.ReopenComplaint, ctx: DecisionContext) -> Emitted:
    _require(s, cmd, {Status.FED_BACK, Status.CLOSED})
    if s.department is None:
        raise IllegalTransition(cmd.name(), s.status, "it was never routed to a department")
    return _reopen_events(s, cmd.reason, cmd, ctx)


# -- cross-case -----------------------------------------------------------------
def _link(s: ComplaintState, cmd: c.LinkDuplicate, ctx: DecisionContext) -> Emitted:
    if not s.exists:
        raise NotFound("no such complaint")
    if cmd.primary_complaint_id == cmd.duplicate_complaint_id:
        raise InvalidCommand("duplicate_complaint_id", "a complaint cannot duplicate itself")
    this = s.stream_id.removeprefix("complaint-")
    is_duplicate = this == cmd.duplicate_complaint_id
    if is_duplicate:
        if cmd.linked:
            if s.status in FINAL or s.status == Status.MERGED:
                raise IllegalTransition(cmd.name(), s.status)
        elif s.merged_into != cmd.primary_complaint_id:
            raise IllegalTransition(cmd.name(), s.status, "it is not merged into that complaint")
    elif this == cmd.primary_complaint_id:
        if cmd.linked and s.status == Status.MERGED:
            raise IllegalTransition(cmd.name(), s.status, "the primary is itself a duplicate")
        if not cmd.linked and cmd.duplicate_complaint_id not in s.duplicates:
            raise IllegalTransition(cmd.name(), s.status, "no such duplicate is linked")
    else:
        raise InvalidCommand("primary_complaint_id", "the command does not name this complaint")
    data = ev.DuplicateLinked(
        primary_complaint_id=cmd.primary_complaint_id,
        duplicate_complaint_id=cmd.duplicate_complaint_id,
        linked=cmd.linked,
    )
    return [(data, s.department)]


def _supervise(s: ComplaintState, cmd: c.RaiseSupervision, ctx: DecisionContext) -> Emitted:
    if not s.exists:
        raise NotFound("no such complaint")
    if cmd.deadline is not None and cmd.due_at is not None:
        current = s.deadlines.get(cmd.deadline)
        if cmd.deadline not in s.pending_deadlines or current is None:
            return []
        if current.due_at != cmd.due_at:
            return []
    if cmd.kind == MANUAL_SUPERVISION:
        # A supervisor's own 督办 (docs/supervision-web.md): its reason is
        # what the department is told, and its date cannot lie in the past.
        if s.status in FINAL:
            raise IllegalTransition(cmd.name(), s.status, "the case is finished")
        if not (cmd.note or "").strip():
            raise InvalidCommand("note", "a 督办 needs its reason")
    if cmd.respond_by is not None and cmd.respond_by <= cmd.occurred_at:
        raise InvalidCommand("respond_by", "must be after the 督办 is raised")
    data = ev.SupervisionRaised(
        kind=cmd.kind,
        deadline=cmd.deadline,
        note=cmd.note,
        related_complaint_id=cmd.related_complaint_id,
        respond_by=cmd.respond_by,
        attachments=_files(cmd, s, ctx),
    )
    return [(data, s.department)]


def _recalculate(s: ComplaintState, cmd: c.RecalculateDeadlines, ctx: DecisionContext) -> Emitted:
    if not s.exists:
        raise NotFound("no such complaint")
    # A finished case keeps the deadlines it was judged by. Emitting nothing is
    # an answer too: the import runs over every open case, most need no change.
    if s.status in FINAL:
        return []
    out: Emitted = []
    for kind in DeadlineKind:  # a fixed order, so a resent command yields the same event ids
        old = s.deadlines.get(kind)
        anchor = s.deadline_anchors.get(kind)
        if old is None or anchor is None or not old.provisional:
            continue
        # From the anchor with the total working days, so an approved extension
        # comes out as if it had been granted on this calendar.
        new = ctx.deadline(kind, anchor, old.working_days)
        if new.due_at != old.due_at or new.provisional != old.provisional:
            recalculated = ev.DeadlineRecalculated(previous=old, current=new, reason=cmd.reason)
            out.append((recalculated, s.department))
    return out


_DECIDERS: dict[type[c.Command], Decider] = {
    c.SubmitComplaint: _submit,
    c.AcceptComplaint: _accept,
    c.RejectComplaint: _reject,
    c.RouteComplaint: _route,
    c.ClaimCase: _claim,
    c.ReturnCase: _return,
    c.RecordInvestigation: _investigate,
    c.ProposePlan: _plan,
    c.RecordConsultation: _consult,
    c.ReportProgress: _progress,
    c.RequestExtension: _request_extension,
    c.DecideExtension: _decide_extension,
    c.ResolveComplaint: _resolve,
    c.SendFeedback: _feedback,
    c.RecordFollowUp: _follow_up,
    c.ReopenComplaint: _reopen,
    c.LinkDuplicate: _link,
    c.RaiseSupervision: _supervise,
    c.RecalculateDeadlines: _recalculate,
}
