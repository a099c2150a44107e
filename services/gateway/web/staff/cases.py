"""The staff case page (``/staff/cases/{id}``): where a case stands, its
deadlines, notices and complete timeline, and the forms of the actions the
signed-in user may take now (posted to ``/staff/cases/{id}/{action}``).

Who may see a case is the API's rule (``visible_case``): another
department's case is the same 404 as a case that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.case_files import file_response, staff_file
from tousu.services.gateway.complaints.personal import document_case, viewed_case
from tousu.services.gateway.complaints.reader import Case, visible_case
from tousu.services.gateway.complaints.routes import get_store
from tousu.services.gateway.complaints.views import case_out
from tousu.services.gateway.notices.download import pdf_response
from tousu.services.gateway.notices.routes import _Documents
from tousu.services.gateway.problems import Conflict, DomainProblem, Lang, NotFound, Unprocessable
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff import actions, evidence, handling_steps
from tousu.services.gateway.web.staff.case_links import linked_cases
from tousu.services.gateway.web.staff.case_notices import case_notices
from tousu.services.gateway.web.staff.improvements import case_items
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import (
    HOME_BY_ROLE,
    QUEUE_ROLES,
    ROLE_NAMES,
    NeedsLogin,
    NotPermitted,
    current_staff,
    require_staff,
    staff_page,
)
from tousu.services.gateway.web.templating import department_namer
from tousu.services.gateway.web.tracking import UNAVAILABLE, own_words
from tousu.services.metrics.inspection.views import case_reviews
from tousu.services.metrics.views import Level, standing
from tousu.shared.attachments.checks import Kept
from tousu.shared.attachments.files import Attachments
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.domain.imports import REASON_PREFIX, is_imported
from tousu.shared.domain.labels import deadline_label, event_label
from tousu.shared.domain.state import ComplaintState, evolve
from tousu.shared.domain.status import Status
from tousu.shared.events import Envelope, UnknownEventType, decode, utcnow
from tousu.shared.events import types as ev
from tousu.shared.events.types import DeadlineKind
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode
from tousu.shared.privacy.views_log import record_view
from tousu.shared.settings import Settings

Colour = Literal["green", "yellow", "red"]

FLASH_COOKIE: Final = "tousu_flash"
FLASH_AGE: Final = 60

NO_SUCH_CASE = N_("No such complaint, or it is not your department's.")
STATE_CHANGED = N_(
    "This cannot be done now: the current state is “%(state)s”. "
    "Someone may have acted on the case meanwhile; see its timeline."
)
FORM_EXPIRED = N_("The form has expired: please send it again.")
COLOUR_NAMES: Final[dict[Colour, str]] = {
    "green": N_("on time"),
    "yellow": N_("due within one working day"),
    "red": N_("overdue"),
}
CHANNEL_NAMES: Final[dict[str, str]] = {
    "phone": N_("staff.channel.phone"),
    "web": N_("staff.channel.web"),
    "wechat": N_("staff.channel.wechat"),
    "letter": N_("staff.channel.letter"),
    "walk_in": N_("staff.channel.walk_in"),
    "open311": N_("staff.channel.open311"),
}
# What a timeline entry shows of its event's data, in this order.
DETAIL_LABELS: Final[dict[str, str]] = {
    "category": N_("Complaint category"),
    "subcategory": N_("Subcategory"),
    "department": N_("Holding department"),
    "requirements": N_("Handling requirements"),
    "handler": N_("Assigned handler"),
    "verification_note": N_("Verification note"),
    "reason": N_("Reason given"),
    "suggestion": N_("Suggested resolution"),
    "result": N_("Result"),
    "basis": N_("Basis"),
    "improvements": N_("Improvement measures"),
    "short_path": N_("Resolved by the short path the register allows"),
    "findings": N_("Findings"),
    "methods": N_("Methods"),
    "summary": N_("Summary of the plan"),
    "measures": N_("Measures"),
    "agrees": N_("Agrees with the plan"),
    "opinion": N_("Their opinion"),
    "progress": N_("Progress"),
    "working_days": N_("Working days"),
    "approved": N_("Extension approved"),
    "channel": N_("Channel used"),
    "satisfaction": N_("Satisfaction given"),
    "comment": N_("Comment"),
    "kind": N_("Kind of notice"),
    "note": N_("Supervision note"),
}
# What an imported result says instead of the short path (label, value).
IMPORTED_STEPS = (
    N_("Steps on record"),
    N_("The earlier system recorded the result only: no claim, investigation or plan"),
)
# Where one data key means different things in different events: an extension
# request's reason is the department's, a decision's is the approver's comment
# (shown as 理由 it read as the reason for the extension).
EVENT_DETAIL_LABELS: Final[dict[tuple[str, str], str]] = {
    ("ExtensionRequested", "reason"): N_("Reason for the extension"),
    ("ExtensionDecided", "reason"): N_("Approval comment"),
}
SUPERVISION_KINDS: Final[dict[str, str]] = {
    "warning": N_("Warning: a deadline is near"),
    "overdue": N_("Overdue notice"),
    "arbitration": N_("Arbitration needed (returned repeatedly)"),
    "public_report": N_("Report from the public"),
    "manual": N_("Supervision by the office (督办)"),
    # A failed quality inspection's 督办 (shared/domain/inspection.py).
    "inspection": N_("Quality inspection"),
}
ACTOR_ROLES: Final[dict[str, str]] = {
    **{role: name for role, name in ROLE_NAMES.items()},
    "complainant": N_("role.complainant"),
    "system": N_("role.system"),
}
YES = N_("answer.yes")
NO = N_("answer.no")


@cache
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def category_name(code: str | None, lang: Lang) -> str | None:
    if code is None:
        return None
    try:
        return taxonomy().category(code).name.get(lang)
    except UnknownCode:
        return code


def subcategory_name(category: str | None, code: str | None, lang: Lang) -> str | None:
    """A subcategory by its name (the code only if the taxonomy no longer has it)."""
    if code is None:
        return None
    if category is not None:
        try:
            return taxonomy().subcategory(category, code).name.get(lang)
        except UnknownCode:
            pass
    return code


def routed_requirements(case: Case) -> str | None:
    """The handling requirements (处理要求) of the case's latest routing."""
    found = None
    for envelope in case.history:
        if envelope.type == "ComplaintRouted":
            found = envelope.data.get("requirements") or None
    return found


_COLOURS: Final[dict[Level | None, Colour]] = {
    Level.OVERDUE: "red",
    Level.WARNING: "yellow",
    None: "green",
}


def deadline_colour(due_at: datetime, now: datetime, calendar: WorkdayCalendar) -> Colour:
    """Red once passed, yellow from the start of the last working day before it
    (when the watcher warns), green before."""
    return _COLOURS[standing(due_at, now, calendar)]


async def calendar_of(request: Request) -> WorkdayCalendar:
    return WorkdayCalendar(await load_years(get_pool(request)))


@dataclass(frozen=True)
class StepDeadline:
    kind: DeadlineKind
    label: str
    due_at: datetime
    met_in_time: bool
    provisional: bool


def _pending(state: ComplaintState) -> dict[DeadlineKind, ev.Deadline]:
    return {k: state.deadlines[k] for k in state.pending_deadlines}


def _detail(value: Any, lang: Lang) -> str:
    if isinstance(value, bool):
        return gettext(lang, YES if value else NO)
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                parts.append(" · ".join(str(v) for v in item.values() if v))
            else:
                parts.append(str(item))
        return "\n".join(parts)
    return str(value)


def timeline(
    case: Case,
    lang: Literal["zh", "en"],
    names: dict[str, str] | None = None,
    complaint_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Each event with who did it, its details, the deadline it met (the one
    that applied at that step) and its files (links to the case's files
    under ``complaint_id``, a thumbnail for an image)."""
    entries: list[dict[str, Any]] = []
    state = ComplaintState()
    for envelope in case.history:
        if envelope.type == "LateEntryRecorded":
            # Not a step: it marks the steps just before it as a late entry (补录).
            mark = late_entry(envelope)
            mark["approved_by"] = person(names or {}, mark["approved_by"])
            for entry in entries[len(entries) - len(mark["events"]) :]:
                entry["late"] = mark
                if mark["imported"]:
                    # An earlier system kept no claim: its result ends the
                    # claim deadline without meeting it, on time or late.
                    entry["met"] = [d for d in entry["met"] if d.kind is not DeadlineKind.CLAIM]
                    entry["details"] = _imported_details(entry["details"], lang)
            continue
        before = _pending(state)
        try:
            state = evolve(state, envelope)
        except UnknownEventType:
            continue
        after = _pending(state)
        met = [
            StepDeadline(
                kind=kind,
                label=deadline_label(kind.value, lang),
                due_at=d.due_at,
                met_in_time=envelope.occurred_at <= d.due_at,
                provisional=d.provisional,
            )
            for kind, d in before.items()
            if kind not in after
        ]
        entries.append(
            {
                "envelope": envelope,
                "label": event_label(envelope.type, lang),
                "role": gettext(lang, ACTOR_ROLES[envelope.actor.role])
                if envelope.actor.role in ACTOR_ROLES
                else envelope.actor.role,
                "details": _details(envelope, lang, names or {}),
                "actor": person(names or {}, envelope.actor.id),
                "met": met,
                "late": None,
                "files": evidence.shown(complaint_id, _files(envelope))
                if complaint_id is not None
                else [],
            }
        )
    return entries


def _files(envelope: Envelope) -> list[ev.FileRef]:
    if "attachments" not in envelope.data:  # most steps carry none: no decoding
        return []
    try:
        data = decode(envelope)
    except UnknownEventType:
        return []
    files = getattr(data, "attachments", None)
    return list(files) if isinstance(files, list) else []


def late_entry(envelope: Envelope) -> dict[str, Any]:
    """What the timeline shows of a late-entry mark: when it was recorded, and
    who approved it beyond the window, with what reason."""
    data = ev.LateEntryRecorded.model_validate(envelope.data)
    return {
        "events": data.events,
        "recorded_at": envelope.recorded_at,
        "approved_by": data.approved_by,
        "reason": data.reason,
        "within_window": data.within_window,
        # Brought in from an earlier system by `tousu import` (docs/import.md):
        # shown with the system and its id ("旧投诉系统 GD0001"), from the reason.
        "imported": is_imported(data),
        "source": (data.reason or "").removeprefix(REASON_PREFIX) if is_imported(data) else None,
    }


def _imported_details(
    details: list[tuple[str, str]], lang: Literal["zh", "en"]
) -> list[tuple[str, str]]:
    """An imported result's short path is not the register's simple procedure:
    the earlier system recorded the result without the steps before it."""
    short_path = gettext(lang, DETAIL_LABELS["short_path"])
    return [
        (gettext(lang, IMPORTED_STEPS[0]), gettext(lang, IMPORTED_STEPS[1]))
        if label == short_path
        else (label, value)
        for label, value in details
    ]


def _details(
    envelope: Envelope, lang: Literal["zh", "en"], names: dict[str, str]
) -> list[tuple[str, str]]:
    if envelope.type == "ComplaintReceived":
        return []  # shown in full above the timeline
    try:
        data = decode(envelope).model_dump(mode="json")
    except UnknownEventType:
        data = dict(envelope.data)
    out = []
    for key, label in DETAIL_LABELS.items():
        value = data.get(key)
        if value is None or value == "" or value == [] or (key == "short_path" and not value):
            continue
        if key == "channel" and isinstance(value, str):
            value = gettext(lang, CHANNEL_NAMES[value]) if value in CHANNEL_NAMES else value
        if key == "category" and isinstance(value, str):
            value = category_name(value, lang)
        if key == "subcategory" and isinstance(value, str):
            category = data.get("category")
            value = subcategory_name(category if isinstance(category, str) else None, value, lang)
        if key == "handler" and isinstance(value, str):
            value = person(names, value)
        if key == "measures" and isinstance(value, list):
            # Each measure's owner by display name, as every other person shown.
            value = [
                {**m, "owner": person(names, m["owner"])}
                if isinstance(m, dict) and isinstance(m.get("owner"), str)
                else m
                for m in value
            ]
        if key == "satisfaction" and isinstance(value, str):
            value = gettext(lang, actions.SATISFACTION_NAMES.get(value, value))
        if envelope.type == "ComplaintClosed" and key == "reason" and isinstance(value, str):
            # A closure's reason is the follow-up's outcome, stored as its code.
            value = gettext(lang, actions.SATISFACTION_NAMES.get(value, value))
        if key == "department" and isinstance(value, str):
            value = department_namer(CommitmentRegister.load(), lang)(value)
        if envelope.type == "SupervisionRaised" and key == "kind" and value in SUPERVISION_KINDS:
            value = gettext(lang, SUPERVISION_KINDS[value])
        label = EVENT_DETAIL_LABELS.get((envelope.type, key), label)
        out.append((gettext(lang, label), _detail(value, lang)))
    return out


def supervision_notices(case: Case, lang: Literal["zh", "en"]) -> list[dict[str, Any]]:
    out = []
    for envelope in case.history:
        if envelope.type != "SupervisionRaised":
            continue
        data = decode(envelope)
        if not isinstance(data, ev.SupervisionRaised):
            continue
        kind = SUPERVISION_KINDS.get(data.kind)
        out.append(
            {
                "occurred_at": envelope.occurred_at,
                "kind": data.kind,
                "label": gettext(lang, kind) if kind else data.kind,
                "deadline": deadline_label(data.deadline.value, lang) if data.deadline else None,
                "note": data.note,
                "respond_by": data.respond_by,
            }
        )
    return out


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    routes = APIRouter()
    documents = _Documents(settings)

    def message_page(request: Request, principal: Principal, message: str, status: int) -> Response:
        context = {
            "message": gettext(web.lang(request), message),
            "home": HOME_BY_ROLE[principal.role],
        }
        return staff_page(
            web, request, principal, "staff/_core_message.html", context, status=status
        )

    async def case_page(
        request: Request,
        principal: Principal,
        complaint_id: uuid.UUID,
        *,
        status: int = 200,
        form: dict[str, Any] | None = None,
        alert: str | None = None,
    ) -> Response:
        lang = web.lang(request)
        try:
            case = await viewed_case(get_store(request), complaint_id, principal, "web_case")
        except NotFound:
            return message_page(request, principal, NO_SUCH_CASE, 404)
        out = case_out(complaint_id, case, lang)
        state = case.state
        now = utcnow()
        calendar = await calendar_of(request)
        pending = set(state.pending_deadlines)
        deadlines = [
            {
                "label": deadline_label(kind.value, lang),
                "deadline": d,
                "owed": kind in pending,
                "colour": deadline_colour(d.due_at, now, calendar) if kind in pending else None,
            }
            for kind in DeadlineKind
            if (d := state.deadlines.get(kind)) is not None
        ]
        names = await display_names(get_pool(request))
        flash = None
        flash_name = web.signer.unsign(FLASH_COOKIE, request.cookies.get(FLASH_COOKIE), FLASH_AGE)
        if flash_name in actions.BY_NAME:
            flash = gettext(lang, actions.BY_NAME[flash_name].done)
        context = {
            "case": out,
            "state": state,
            "complaint": own_words(case),
            "channel_name": gettext(lang, CHANNEL_NAMES[out.channel])
            if out.channel in CHANNEL_NAMES
            else out.channel,
            "category_name": category_name(out.category, lang),
            "subcategory_name": subcategory_name(out.category, out.subcategory, lang),
            "requirements": routed_requirements(case),
            "handler_name": person(names, out.handler),
            # Where "back" goes: the workbench for the roles that may open it.
            "back": "/staff/queue" if principal.role in QUEUE_ROLES else None,
            "home": HOME_BY_ROLE[principal.role],
            "deadlines": deadlines,
            "colour_names": COLOUR_NAMES,
            "timeline": timeline(case, lang, names, complaint_id),
            "supervision": supervision_notices(case, lang),
            # A 监督举报's earlier complaint, and the reports on this one.
            "linked": await linked_cases(get_pool(request), principal, case, complaint_id, lang),
            # The quality inspection's reviews of it, if it was sampled (质量检查).
            "inspections": await case_reviews(get_pool(request), complaint_id),
            # The improvements its result feedback promised (整改跟踪).
            "improvement_items": await case_items(get_pool(request), complaint_id),
            "notices": documents(case),
            # How each notice went out: sent, retried, or given up and why.
            "notice_rows": await case_notices(get_pool(request), complaint_id, lang),
            "actions": handling_steps.offered(actions.available(principal, state.status), state),
            # The order of the handling steps: what comes next, what must wait.
            "next_step": handling_steps.next_step_text(state, lang),
            "order_hint": handling_steps.ORDER_HINT,
            "blocked": {
                wa.name: reason
                for wa in actions.available(principal, state.status)
                if (reason := handling_steps.blocked(wa, state, lang)) is not None
            },
            "plan_rows": range(1, actions.PLAN_ROWS + 1),
            "evidence": {
                "field": evidence.FIELD,
                "share_field": actions.SHARE_FIELD,
                "accept": evidence.ACCEPT,
                "label": evidence.LABEL,
                "hint": gettext(
                    lang,
                    evidence.HINT,
                    max=web_attachments(request).limits.max_files,
                    mb=web_attachments(request).limits.max_bytes // (1024 * 1024),
                ),
                "share": evidence.SHARE,
            },
            "form": form or {"action": None, "values": {}, "errors": {}},
            "new_key": str(uuid.uuid4()),
            "key_field": actions.KEY_FIELD,
            "version_field": actions.VERSION_FIELD,
            # Under the staff bar, where the flash goes (base.html's alert is above it).
            "staff_alert": alert,
            "flash": flash,
        }
        response = staff_page(web, request, principal, "staff/case.html", context, status=status)
        if flash_name is not None:
            response.delete_cookie(FLASH_COOKIE, path="/staff")
        return response

    @routes.get("/cases/{complaint_id}")
    async def show_case(complaint_id: uuid.UUID, request: Request) -> Response:
        principal = await require_staff(request)
        return await case_page(request, principal, complaint_id)

    @routes.get("/cases/{complaint_id}/notices/{notice_id}.pdf")
    async def notice_pdf(
        complaint_id: uuid.UUID, notice_id: uuid.UUID, request: Request
    ) -> Response:
        """The notice's PDF for a signed-in staff member (the API's wants a bearer token)."""
        principal = await require_staff(request)
        try:
            store = get_store(request)
            case = await document_case(store, complaint_id, principal, "web_notice_pdf")
            document = documents.one(case, notice_id)
        except NotFound:
            return message_page(request, principal, NO_SUCH_CASE, 404)
        response = await pdf_response(document)
        response.headers["Cache-Control"] = "no-store"
        return response

    @routes.get("/cases/{complaint_id}/files/{sha256}")
    async def case_file(complaint_id: uuid.UUID, sha256: str, request: Request) -> Response:
        """A file of the case, for staff who may open the case (404 otherwise)."""
        return await staff_case_file(request, complaint_id, sha256, thumbnail=False)

    @routes.get("/cases/{complaint_id}/files/{sha256}/thumb")
    async def case_file_thumbnail(
        complaint_id: uuid.UUID, sha256: str, request: Request
    ) -> Response:
        return await staff_case_file(request, complaint_id, sha256, thumbnail=True)

    async def staff_case_file(
        request: Request, complaint_id: uuid.UUID, sha256: str, *, thumbnail: bool
    ) -> Response:
        principal = await require_staff(request)
        try:
            case = await visible_case(get_store(request), complaint_id, principal)
        except NotFound:
            return message_page(request, principal, NO_SUCH_CASE, 404)
        attachments = request.app.state.connections.attachments
        ref = staff_file(case, sha256)
        response = await file_response(attachments, ref, thumbnail=thumbnail)
        if ref is not None and not thumbnail and response.status_code == 200:
            # A complainant's file is personal data: each full view is logged
            # (its thumbnail shows on the case page, whose view is logged).
            await record_view(
                get_pool(request), principal.username, principal.role, complaint_id, "web_file"
            )
        return response

    @routes.post("/cases/{complaint_id}/{name}")
    async def act(complaint_id: uuid.UUID, name: str, request: Request) -> Response:
        back = f"/staff/cases/{complaint_id}"
        principal = await current_staff(request)
        if principal is None:
            raise NeedsLogin(back)
        wa = actions.BY_NAME.get(name)
        if wa is None:
            return message_page(request, principal, NO_SUCH_CASE, 404)
        if principal.role not in wa.action.roles:
            raise NotPermitted(principal)
        lang = web.lang(request)
        raw = await form_data(request)
        values, fields = actions.read_form(wa, raw)

        def again(
            status: int, errors: dict[str, str], alert: str | None = None
        ) -> Awaitable[Response]:
            form = {"action": wa.name, "values": values, "errors": errors}
            return case_page(
                request, principal, complaint_id, status=status, form=form, alert=alert
            )

        if not web.csrf.verify(request, raw):
            return await again(403, {}, gettext(lang, FORM_EXPIRED))
        try:
            case = await visible_case(get_store(request), complaint_id, principal)
        except NotFound:
            return message_page(request, principal, NO_SUCH_CASE, 404)
        if wa.from_state is not None:
            if not wa.allowed(principal, case.state.status):
                status_label = case.state.status.label(lang) if case.state.status else "—"
                return await again(409, {}, gettext(lang, STATE_CHANGED, state=status_label))
            fields.update(wa.from_state(case.state, complaint_id))
        if (out_of_order := handling_steps.blocked(wa, case.state, lang)) is not None:
            return await again(409, {}, out_of_order)
        errors = actions.check(wa, fields, lang)
        kept: list[Kept] = []
        if wa.evidence:
            # Every file checked before any is stored; a refusal at the file field.
            files = await evidence.chosen(request)
            kept, refused = await evidence.checked(web_attachments(request), files, lang)
            if refused is not None:
                errors[evidence.FIELD] = refused
            elif errors and kept:
                errors[evidence.FIELD] = gettext(lang, evidence.CHOOSE_AGAIN)
        if errors:
            return await again(422, errors)
        key = str(raw.get(actions.KEY_FIELD, ""))[:100]
        # The version the page showed: the service refuses if the case moved on.
        seen = actions.seen_version(raw)
        if seen is not None:
            fields["expected_version"] = seen
        if kept:
            fields["attachments"] = await evidence.stored(
                web_attachments(request),
                get_pool(request),
                complaint_id,
                kept,
                shared=evidence.shared_chosen(raw),
            )
        try:
            await actions.send_action(
                request, settings.naming, wa.action, complaint_id, principal, fields, key
            )
        except Conflict as problem:
            current = problem.extra.get("current_state")
            try:
                label = Status(str(current)).label(lang)
            except ValueError:
                label = str(current)
            return await again(409, {}, gettext(lang, STATE_CHANGED, state=label))
        except Unprocessable as problem:
            return await again(
                422, actions.service_errors(wa, problem.extra.get("errors", []), lang)
            )
        except NotFound:
            return message_page(request, principal, NO_SUCH_CASE, 404)
        except DomainProblem:
            return await again(503, {}, gettext(lang, UNAVAILABLE))
        # From the queue too: the queue reads the case index, which shows
        # the claim a moment later; the case page shows it at once.
        response = see_other(back)
        token = web.signer.sign(FLASH_COOKIE, wa.name)
        web.set_cookie(response, request, FLASH_COOKIE, token, "/staff", FLASH_AGE)
        return response

    return routes


def web_attachments(request: Request) -> Attachments:
    attachments: Attachments = request.app.state.connections.attachments
    return attachments


def flash_message(web: Web, request: Request) -> str | None:
    """The action a flash cookie names (for pages the action redirects to)."""
    name = web.signer.unsign(FLASH_COOKIE, request.cookies.get(FLASH_COOKIE), FLASH_AGE)
    wa = actions.BY_NAME.get(name or "")
    return gettext(web.lang(request), wa.done) if wa else None
