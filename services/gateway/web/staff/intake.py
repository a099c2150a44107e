"""The intake console (受理台): register a phone, letter or walk-in complaint,
the cases waiting for a decision, and verifying one — accept with a preview of
the 受理告知书, reject with a preview of the 不予受理告知书, or merge it into a
complaint it repeats.

Commands go over NATS like the staff API's; a preview runs the domain's own
decision (the intake service's notice renderer and the current calendar) on
the stored history without storing anything, so the text shown is the text
that will be sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from tousu.services.followup.views import NoticeChannel, channel_for, receipt_document
from tousu.services.gateway.auth import Principal
from tousu.services.gateway.complaints.actions import ACTIONS, MERGE, Action
from tousu.services.gateway.complaints.personal import personal_case, revealed_case
from tousu.services.gateway.complaints.reader import Case, load_case
from tousu.services.gateway.complaints.registration import Registration, submit
from tousu.services.gateway.notices.download import pdf_response
from tousu.services.gateway.problems import DomainProblem, Lang, Unprocessable, localize
from tousu.services.gateway.web import complaint_form, uploads
from tousu.services.gateway.web.complaint_form import (
    REPLY_CHANNELS,
    Form,
    check_lengths,
    check_phone_and_email,
    form_field,
    model_errors,
    read_kind,
    read_reply_channel,
    read_service_item,
    read_time,
)
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, TAGS, gettext
from tousu.services.gateway.web.staff.actions import send_action
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.services.metrics.views import CaseFilter, Level, case_briefs, list_cases, standing
from tousu.shared.application.context_source import ContextSource
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.domain import commands as c
from tousu.shared.domain.decide import decide
from tousu.shared.domain.errors import DomainError
from tousu.shared.domain.status import Status
from tousu.shared.events import decode, utcnow
from tousu.shared.events import types as ev
from tousu.shared.events.base import EventData
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.duplicate_search import repeats_of
from tousu.shared.intake.i18n import Localized
from tousu.shared.intake.identifiers import verify_access_code
from tousu.shared.intake.notices import addressed
from tousu.shared.intake.submission import Submission
from tousu.shared.intake.taxonomy import Taxonomy
from tousu.shared.settings import Settings

INTAKE_ROLES: Final = ("operator", "supervisor", "admin")
# What an operator types in at the console: a call, a letter, a visit, and a
# web or WeChat complaint that reached the organisation outside tousu (an
# e-mail, a WeChat message to a staff phone), each with the time it came
# (docs/late-entries.md). Open311 clients submit themselves.
CONSOLE_CHANNELS: Final = (
    Channel.PHONE,
    Channel.LETTER,
    Channel.WALK_IN,
    Channel.WEB,
    Channel.WECHAT,
)
NOTE_LIMIT: Final = 2000

CSRF_REFUSED = N_("This form has expired. Please check what you entered and send it again.")
NOT_RECEIVED = N_("This complaint is no longer waiting for a decision.")
NOT_FOUND = N_("There is no such complaint.")
NOT_A_DUPLICATE = N_("Choose one of the suggested complaints.")
SERVICE_REFUSED = N_("The action was not done: %(reason)s")


def actions_by_name() -> dict[str, Action]:
    return {a.name: a for a in (*ACTIONS, MERGE)}


async def calendar_of(request: Request) -> WorkdayCalendar:
    return WorkdayCalendar(await load_years(request.app.state.connections.pool))


_COLOURS: Final[dict[Level | None, str]] = {
    Level.OVERDUE: "red",
    Level.WARNING: "amber",
    None: "green",
}


def deadline_colour(due: datetime | None, now: datetime, calendar: WorkdayCalendar) -> str:
    """green: time left; amber: the last working day has begun; red: passed."""
    if due is None:
        return "none"
    return _COLOURS[standing(due, now, calendar)]


def problem_text(problem: DomainProblem, lang: Lang) -> str:
    return gettext(lang, SERVICE_REFUSED, reason=localize(problem.detail, lang))


# --- registering a complaint -------------------------------------------------

FIELDS: Final = (
    "channel",
    "received_at",
    "name",
    "phone",
    "email",
    "address",
    "subject",
    "description",
    "happened_at",
    "location",
    "people_involved",
    "demands",
    "kind",
    "service_item",
    "preferred_channel",
    "late_reason",
    "form_id",
)
# 补录: a complaint staff register beyond the deployment's window
# (TOUSU_LATE_REGISTRATION_DAYS) — whatever its channel, the web and WeChat
# ones that came outside tousu too — is a supervisor's, with a reason
# (shared/domain/late_entries.py); the domain's refusals, said at their field.
LATE_REASON_LIMIT: Final = 500
LATE_RECEIVED = N_(
    "Received more than %(days)s days ago, beyond the late-entry window: "
    "a supervisor must register it, with the reason for the late entry."
)
# A web or WeChat complaint needs a way to reply (Submission.missing's
# "complainant"): the public form asks for it in its contact block, which the
# desk's form does not have, so it is said at the phone number, by name.
NO_CONTACT_AT_DESK = N_(
    "A web or WeChat complaint needs a phone number or an e-mail address to reply to."
)
LATE_REASON_NEEDED = N_(
    "A registration beyond the late-entry window needs the reason for the late entry."
)
# 答复方式: how the complainant wants to hear from us (REPLY_CHANNELS: SMS to
# the phone, e-mail, or letter), as followup's channel_for reads it.
REPLY_CHOICES: Final = {
    Channel.PHONE: N_("By text message (SMS)"),
    Channel.WEB: N_("By e-mail"),
    Channel.LETTER: N_("By letter"),
}
# The notice channel a complaint's notices go by, as the slip and page name it.
SENT_BY: Final = {
    NoticeChannel.SMS: N_("By text message (SMS)"),
    NoticeChannel.EMAIL: N_("By e-mail"),
    NoticeChannel.LETTER: N_("By letter"),
    NoticeChannel.WEB: N_("On the public website (tracking number and access code)"),
}
CODE_NOT_SHOWN = N_(
    "This form had already been sent: the complaint was registered once, and its "
    "access code was shown then. It cannot be shown again."
)


@dataclass
class RegistrationForm(Form):
    registration: Registration | None = None


def reply_channel(who: Complainant, channel: Channel) -> NoticeChannel:
    """The channel the complainant's notices go by (答复方式), as the notifier
    chooses it: their preference, else what the complaint came by allows."""
    preferred = who.preferred_channel or channel
    return channel_for(preferred, bool(who.email), bool(who.phone), bool(who.address))[0]


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def local_input(moment: datetime) -> str:
    """An instant as a ``datetime-local`` input shows it (Beijing time)."""
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def blank_registration(now: datetime) -> RegistrationForm:
    return RegistrationForm(
        values={"channel": "phone", "received_at": local_input(now), "form_id": str(uuid.uuid4())}
    )


def _field_name(loc: Sequence[int | str]) -> str:
    name = form_field(loc)
    return "channel" if name == "form" else name


def read_registration(
    raw: Mapping[str, Any],
    lang: Lang,
    now: datetime,
    taxonomy: Taxonomy,
    register: CommitmentRegister,
) -> RegistrationForm:
    values = {name: str(raw.get(name, "")).strip() for name in FIELDS}
    form = RegistrationForm(values=values)
    check_lengths(form, lang, {**complaint_form.LIMITS, "late_reason": LATE_REASON_LIMIT})
    if values["channel"] not in {ch.value for ch in CONSOLE_CHANNELS}:
        form.error("channel", complaint_form.BAD_CHOICE, lang)
    check_phone_and_email(form, lang)
    data: dict[str, Any] = {
        "channel": values["channel"],
        "complainant": {k: values[k] for k in ("name", "phone", "email", "address") if values[k]},
        "language": TAGS[lang],
        "subject": values["subject"],
        "description": values["description"],
    }
    for name in ("location", "people_involved", "demands", "late_reason"):
        if values[name]:
            data[name] = values[name]
    for name in ("received_at", "happened_at"):
        if values[name]:
            read_time(form, name, data, lang, now)
        elif name == "received_at":
            form.error(name, complaint_form.REQUIRED, lang)
    if values["kind"]:
        read_kind(form, data, lang, taxonomy)
    if values["service_item"]:
        read_service_item(form, data, lang, register)
    if values["preferred_channel"]:
        read_reply_channel(form, data, lang)
    try:
        ref = str(uuid.UUID(values["form_id"]))
        data["external_ref"] = f"desk-{ref}"
    except ValueError:
        pass
    _channel_needs(form, data, lang)
    try:
        registration = Registration.model_validate(data)
    except ValidationError as exc:
        model_errors(form, exc, lang, _field_name)
        return form
    if not form.errors:
        form.registration = registration
    return form


def late_entry_refusal(field: str, message: str, days: int) -> tuple[str, dict[str, object]]:
    """The form's message for the domain's refusal of ``field``: a late entry
    (补录) beyond what the person may register is said as such."""
    if field == "late_reason":
        return LATE_REASON_NEEDED, {}
    if field == "received_at" and "补录" in message:
        return LATE_RECEIVED, {"days": days}
    return complaint_form.INVALID, {}


def _channel_needs(form: RegistrationForm, data: Mapping[str, Any], lang: Lang) -> None:
    """What the chosen channel needs and did not get, shown even when other
    fields are wrong too (the submission's own check, on what was typed)."""
    try:
        channel = Channel(data["channel"])
        who = c.ComplainantFacts.model_validate(data["complainant"])
    except ValueError:
        return
    probe = Submission.model_construct(
        channel=channel,
        complainant=who,
        subject=data.get("subject", ""),
        description=data.get("description", ""),
        received_at=data.get("received_at"),
        location=data.get("location"),
    )
    for name, _ in probe.missing():
        field = _field_name(name.split("."))
        if field == "contact":
            form.error("phone", NO_CONTACT_AT_DESK, lang)
        else:
            form.error(field, complaint_form.REQUIRED, lang)


# --- the case being verified ------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the complainant told us (the ``ComplaintReceived`` event)."""

    received: ev.ComplaintReceived
    received_at: datetime


def facts_of(case: Case) -> Facts | None:
    for envelope in case.history:
        if envelope.type == "ComplaintReceived":
            data = decode(envelope)
            assert isinstance(data, ev.ComplaintReceived)
            return Facts(data, envelope.occurred_at)
    return None


@dataclass(frozen=True)
class Suggestion:
    complaint_id: str
    tracking_no: str | None
    subject: str
    received_at: datetime
    status: str | None
    reason: str
    score: float


async def duplicate_suggestions(
    pool: asyncpg.Pool, complaint_id: uuid.UUID, facts: Facts, lang: Lang
) -> list[Suggestion]:
    """Earlier complaints from the same contact with a similar text, as intake
    suggested them when the complaint came in (the same search, asked again now)."""
    received = facts.received
    found = await repeats_of(
        pool,
        complaint_id,
        received.complainant,
        received.subject,
        received.description,
        facts.received_at,
    )
    briefs = await case_briefs(pool, [uuid.UUID(r.match.complaint_id) for r in found])
    # None: not in the case index yet (it follows the store by a moment).
    status = {str(cid): brief["status"] for cid, brief in briefs.items()}
    return [
        Suggestion(
            complaint_id=r.match.complaint_id,
            tracking_no=r.tracking_no,
            subject=r.subject,
            received_at=r.received_at,
            status=status.get(r.match.complaint_id),
            reason=r.match.reason(lang),
            score=r.match.score,
        )
        for r in found
    ]


@dataclass
class DecisionForm(Form):
    """The accept or the reject form, and the event's fields when valid."""

    fields: dict[str, Any] = field(default_factory=dict)


def read_accept(
    raw: Mapping[str, Any], lang: Lang, taxonomy: Taxonomy, register: CommitmentRegister
) -> DecisionForm:
    values = {n: str(raw.get(n, "")).strip() for n in ("kind", "service_item", "note", "form_id")}
    form = DecisionForm(values)
    if not values["kind"]:
        form.error("kind", complaint_form.REQUIRED, lang)
    elif values["kind"] not in complaint_form.kinds(taxonomy):
        form.error("kind", complaint_form.BAD_CHOICE, lang)
    else:
        category, _, sub = values["kind"].partition("/")
        form.fields["category"] = category
        form.fields["subcategory"] = sub or None
    if values["service_item"]:
        read_service_item(form, form.fields, lang, register)
    if len(values["note"]) > NOTE_LIMIT:
        form.error(
            "note", complaint_form.TOO_LONG, lang, max=NOTE_LIMIT, length=len(values["note"])
        )
    elif values["note"]:
        form.fields["verification_note"] = values["note"]
    return form


def read_reject(
    raw: Mapping[str, Any], lang: Lang, taxonomy: Taxonomy, notice_lang: str
) -> DecisionForm:
    names = ("reason_code", "reason", "suggestion", "form_id")
    values = {n: str(raw.get(n, "")).strip() for n in names}
    # Its own name: the accept form on the same page has a "note" too.
    values["note"] = str(raw.get("reject_note", "")).strip()
    form = DecisionForm(values)
    kinds = {k.code: k for k in taxonomy.out_of_scope_kinds}
    kind = kinds.get(values["reason_code"]) if values["reason_code"] else None
    if values["reason_code"] and kind is None:
        form.error("reason_code", complaint_form.BAD_CHOICE, lang)
    reading = "en" if notice_lang.startswith("en") else "zh"
    reason = values["reason"] or (kind.reason.get(reading) if kind else "")
    suggestion = values["suggestion"] or (kind.referral.get(reading) if kind else "")
    for name, text in (("reason", reason), ("suggestion", suggestion)):
        if not text:
            form.error(name, complaint_form.REQUIRED, lang)
        elif len(text) > NOTE_LIMIT:
            form.error(name, complaint_form.TOO_LONG, lang, max=NOTE_LIMIT, length=len(text))
    if len(values["note"]) > NOTE_LIMIT:
        form.error(
            "note", complaint_form.TOO_LONG, lang, max=NOTE_LIMIT, length=len(values["note"])
        )
    if not form.errors:
        form.fields = {"reason": reason, "suggestion": suggestion}
        if kind is not None:
            form.fields["reason_code"] = kind.code
        if values["note"]:
            form.fields["verification_note"] = values["note"]
        # What the preview shows is what is sent.
        form.values["reason"], form.values["suggestion"] = reason, suggestion
    return form


class _Preview(BaseModel):
    notice_text: str | None = None


def router(settings: Settings) -> APIRouter:
    r = APIRouter()
    web = Web.create(settings)
    taxonomy = Taxonomy.load()
    register = CommitmentRegister.load()
    source = ContextSource.for_settings(settings)
    actions = actions_by_name()

    def pool(request: Request) -> asyncpg.Pool:
        found: asyncpg.Pool = request.app.state.connections.pool
        return found

    # --- register -----------------------------------------------------------

    def show_new(
        request: Request,
        principal: Principal,
        form: RegistrationForm,
        *,
        status: int = 200,
        alert: str | None = None,
    ) -> Response:
        lang = web.lang(request)
        context = {
            "form": form,
            "alert": alert,
            "limits": complaint_form.LIMITS,
            "channels": [ch.value for ch in CONSOLE_CHANNELS],
            "reply_channels": {ch.value: gettext(lang, REPLY_CHOICES[ch]) for ch in REPLY_CHANNELS},
            "categories": taxonomy.categories,
            "items": register.public_view(lang).items,
            "late_registration_days": settings.late_registration_days,
            "late_reason_limit": LATE_REASON_LIMIT,
            "max_files": settings.attachments.max_files,
            "max_file_mb": settings.attachments.max_bytes >> 20,
            "accept": uploads.DESK_ACCEPT,
        }
        return staff_page(web, request, principal, "staff/intake_new.html", context, status=status)

    @r.get("/intake/new")
    async def new_form(request: Request) -> Response:
        principal = await require_staff(request, *INTAKE_ROLES)
        return show_new(request, principal, blank_registration(utcnow()))

    @r.post("/intake/new")
    async def register_complaint(request: Request) -> Response:
        principal = await require_staff(request, *INTAKE_ROLES)
        lang = web.lang(request)
        raw = await form_data(request)
        form = read_registration(raw, lang, utcnow(), taxonomy, register)
        if not web.csrf.verify(request, raw):
            return show_new(request, principal, form, status=403, alert=gettext(lang, CSRF_REFUSED))
        # The scanned letter, a walk-in's documents: all checked before any is stored.
        attachments = uploads.attachments_of(request)
        kept = await uploads.checked(attachments, await uploads.chosen_files(request), form, lang)
        if form.registration is None or form.errors:
            if kept and uploads.FIELD not in form.errors:
                form.error(uploads.FIELD, uploads.CHOOSE_AGAIN, lang)
            return show_new(request, principal, form, status=422)
        registration = form.registration
        if kept:
            who = registration.complainant
            owner = await uploads.owner_of_new_complaint(pool(request), who.phone, who.email)
            refs = await uploads.stored(attachments, owner, kept)
            registration = registration.model_copy(update={"attachments": refs})
            form.registration = registration
        nats = request.app.state.connections.nats
        try:
            result = await submit(nats, settings.naming, registration, principal.actor())
        except Unprocessable as problem:
            for error in problem.extra.get("errors", []):
                name = _field_name(str(error.get("field", "")).split("."))
                said = str(error.get("message", ""))
                message, values = late_entry_refusal(name, said, settings.late_registration_days)
                form.error(name, message, lang, **values)
            return show_new(request, principal, form, status=422)
        except DomainProblem as problem:
            return show_new(request, principal, form, status=503, alert=problem_text(problem, lang))
        return show_registered(request, principal, form.registration, result)

    def show_registered(
        request: Request, principal: Principal, registration: Registration, result: Any
    ) -> Response:
        """The tracking number and, this once, the access code: to read out on
        the phone, or to print on the receipt (回执). The code is in this
        response only (never cached, never stored in plain); the receipt form
        carries it back for the one PDF."""
        lang = web.lang(request)
        who = registration.complainant
        code: str | None = result.get("access_code")
        replies = reply_channel(who, registration.channel)
        context = {
            "complaint_id": str(result["complaint_id"]),
            "tracking_no": result["tracking_no"],
            "access_code": code,
            "code_not_shown": gettext(lang, CODE_NOT_SHOWN),
            "acceptance_due": _instant(result.get("acceptance_due")),
            # Where the code notice went (followup's code_notice.py: never the web page).
            "sent_on": replies.value if code and replies != NoticeChannel.WEB else None,
            "reply_channel": gettext(lang, SENT_BY[replies]),
        }
        return staff_page(web, request, principal, "staff/intake_registered.html", context)

    @r.post("/intake/{complaint_id}/receipt")
    async def receipt(request: Request, complaint_id: uuid.UUID) -> Response:
        """The receipt (回执) as a PDF, with the access code the form carries:
        checked against the stored hash, so it prints only the right code, and
        only for whoever has it (the code is stored nowhere in plain)."""
        principal = await require_staff(request, *INTAKE_ROLES)
        raw = await form_data(request)
        if not web.csrf.verify(request, raw):
            lang = web.lang(request)
            context = {"message": gettext(lang, CSRF_REFUSED)}
            return staff_page(
                web, request, principal, "staff/intake_missing.html", context, status=403
            )
        case = await load_case(request.app.state.connections.store, complaint_id)
        code = str(raw.get("access_code", "")).strip()
        facts = facts_of(case) if case.state.exists else None
        stored = facts.received.access_code_hash if facts else None
        key: bytes = request.app.state.access_code_key
        if facts is None or not stored or not code or not verify_access_code(stored, code, key):
            return not_found(request, principal)
        # The slip is handed or posted to the complainant: their name in full.
        shown = facts_of(await revealed_case(pool(request), case))
        assert shown is not None
        return await receipt_response(shown, case, complaint_id, code)

    async def receipt_response(
        facts: Facts, case: Case, complaint_id: uuid.UUID, code: str
    ) -> Response:
        received = facts.received
        # The deadlines of the register entry that applies (its defaults for none).
        limits = register.limits_for(received.service_item)
        acceptance = case.state.deadlines.get(ev.DeadlineKind.ACCEPTANCE)
        who = received.complainant
        lang: Lang = "en" if received.language.lower().startswith("en") else "zh"
        text = source.render(
            "receipt",
            received.language,
            tracking_no=received.tracking_no,
            subject=received.subject,
            access_code=code,
            received_at=facts.received_at,
            acceptance_due=acceptance.due_at if acceptance else None,
            acceptance_days=limits.acceptance_days,
            feedback_days=limits.feedback_days,
            follow_up_days=limits.follow_up_days,
            reply_channel=gettext(lang, SENT_BY[reply_channel(who, received.channel)]),
            service_item=received.service_item,
            issued_at=utcnow(),
        )
        name = None if who.anonymous else who.name
        document = receipt_document(
            text,
            tracking_no=received.tracking_no,
            recipient_name=name,
            language=received.language,
            organisation=Localized(zh=settings.org_name_zh, en=settings.org_name_en),
            issued_at=utcnow(),
            complaint_id=complaint_id,
        )
        return await pdf_response(document)

    # --- the cases waiting for a decision -------------------------------------

    @r.get("/intake")
    async def waiting(request: Request) -> Response:
        principal = await require_staff(request, *INTAKE_ROLES)
        now = utcnow()
        calendar = await calendar_of(request)
        total, rows = await list_cases(
            pool(request), CaseFilter(statuses=(Status.RECEIVED,)), limit=200, offset=0
        )
        # The oldest first: it is the one whose two working days run out first.
        ordered = sorted(rows, key=lambda row: (row["received_at"] is None, row["received_at"]))
        cases = [
            {**dict(row), "colour": deadline_colour(row["acceptance_due_at"], now, calendar)}
            for row in ordered
        ]
        context = {"cases": cases, "total": total}
        return staff_page(web, request, principal, "staff/intake_list.html", context)

    # --- verify -------------------------------------------------------------

    async def suggestions_for(
        request: Request, complaint_id: uuid.UUID, case: Case, lang: Lang
    ) -> list[Suggestion]:
        # Matched on the contact details in full, whoever is looking.
        facts = facts_of(await revealed_case(pool(request), case))
        if facts is None:
            return []
        return await duplicate_suggestions(pool(request), complaint_id, facts, lang)

    async def received_case(request: Request, complaint_id: uuid.UUID) -> Case | None:
        case = await load_case(request.app.state.connections.store, complaint_id)
        return case if case.state.exists else None

    async def show_case(
        request: Request,
        principal: Principal,
        complaint_id: uuid.UUID,
        case: Case,
        *,
        accept: DecisionForm | None = None,
        reject: DecisionForm | None = None,
        preview: dict[str, Any] | None = None,
        merge: Suggestion | None = None,
        alert: str | None = None,
        status: int = 200,
    ) -> Response:
        lang = web.lang(request)
        suggestions = await suggestions_for(request, complaint_id, case, lang)
        # Shown as this role may see it (masked, or in full and logged).
        case = await personal_case(pool(request), case, principal, complaint_id, "web_intake")
        facts = facts_of(case)
        state = case.state
        if accept is None:
            kind = ""
            if state.category:
                kind = state.category + (f"/{state.subcategory}" if state.subcategory else "")
            accept = DecisionForm(
                {"kind": kind, "service_item": state.service_item or "", "note": ""}
            )
        accept.values.setdefault("form_id", str(uuid.uuid4()))
        if reject is None:
            reject = DecisionForm({"reason_code": "", "reason": "", "suggestion": "", "note": ""})
        reject.values.setdefault("form_id", str(uuid.uuid4()))
        deadline = state.deadlines.get(ev.DeadlineKind.ACCEPTANCE)
        calendar = await calendar_of(request)
        context = {
            "complaint_id": str(complaint_id),
            "state": state,
            "status_label": state.status.label(lang) if state.status else "",
            "facts": facts.received if facts else None,
            "received_at": facts.received_at if facts else state.received_at,
            "deadline": deadline,
            "colour": deadline_colour(deadline.due_at if deadline else None, utcnow(), calendar),
            "deciding": state.status == Status.RECEIVED,
            "suggestions": suggestions,
            "accept": accept,
            "reject": reject,
            "preview": preview,
            "merge": merge,
            "alert": alert,
            "categories": taxonomy.categories,
            "out_of_scope": taxonomy.out_of_scope_kinds,
            "items": register.public_view(lang).items,
            "limits": {"note": NOTE_LIMIT},
        }
        return staff_page(
            web, request, principal, "staff/intake_verify.html", context, status=status
        )

    def not_found(request: Request, principal: Principal) -> Response:
        context = {"message": gettext(web.lang(request), NOT_FOUND)}
        return staff_page(web, request, principal, "staff/intake_missing.html", context, status=404)

    @r.get("/intake/{complaint_id}")
    async def verify(request: Request, complaint_id: uuid.UUID) -> Response:
        principal = await require_staff(request, *INTAKE_ROLES)
        case = await received_case(request, complaint_id)
        if case is None:
            return not_found(request, principal)
        return await show_case(request, principal, complaint_id, case)

    def notice_of(
        case: Case, command: c.Command, kind: type[EventData], calendar: WorkdayCalendar
    ) -> tuple[str | None, str | None]:
        """(the notice this command would send, or why the domain refuses it)."""
        try:
            events = decide(case.state, command, replace(source, calendar=calendar)())
        except DomainError as exc:
            return None, str(exc)
        for event in events:
            if event.type == kind.__name__:
                return _Preview.model_validate(event.data).notice_text, None
        return None, None

    async def decision(
        request: Request, complaint_id: uuid.UUID, which: str, step: str
    ) -> Response:
        principal = await require_staff(request, *INTAKE_ROLES)
        lang = web.lang(request)
        case = await received_case(request, complaint_id)
        if case is None:
            return not_found(request, principal)
        raw = await form_data(request)
        if which == "accept":
            form = read_accept(raw, lang, taxonomy, register)
            forms: dict[str, Any] = {"accept": form}
            command_type: type[c.Command] = c.AcceptComplaint
            event: type[EventData] = ev.ComplaintAccepted
        else:
            form = read_reject(raw, lang, taxonomy, case.state.language)
            forms = {"reject": form}
            command_type, event = c.RejectComplaint, ev.ComplaintRejected
        if not web.csrf.verify(request, raw):
            alert = gettext(lang, CSRF_REFUSED)
            return await show_case(
                request, principal, complaint_id, case, **forms, alert=alert, status=403
            )
        if case.state.status != Status.RECEIVED:
            alert = gettext(lang, NOT_RECEIVED)
            return await show_case(
                request, principal, complaint_id, case, **forms, alert=alert, status=409
            )
        if form.errors:
            return await show_case(request, principal, complaint_id, case, **forms, status=422)
        if step == "preview":
            command = command_type.model_validate(
                {**form.fields, "actor": principal.actor(), "occurred_at": utcnow()}
            )
            text, refused = notice_of(case, command, event, await calendar_of(request))
            if refused is not None:
                alert = gettext(lang, SERVICE_REFUSED, reason=refused)
                return await show_case(
                    request, principal, complaint_id, case, **forms, alert=alert, status=422
                )
            # Addressed as the notifier addresses what it sends (尊敬的王芳：).
            who = (await revealed_case(pool(request), case)).state.complainant
            name = None if who is None or who.anonymous else who.name
            if text is not None:
                text = addressed(text, name, case.state.language)
            preview = {"which": which, "text": text}
            return await show_case(request, principal, complaint_id, case, **forms, preview=preview)
        try:
            await send_action(
                request,
                settings.naming,
                actions[which],
                complaint_id,
                principal,
                form.fields,
                form.values.get("form_id") or None,
            )
        except DomainProblem as problem:
            alert = problem_text(problem, lang)
            return await show_case(
                request, principal, complaint_id, case, **forms, alert=alert, status=problem.status
            )
        return see_other(f"/staff/cases/{complaint_id}")

    @r.post("/intake/{complaint_id}/preview")
    async def preview_accept(request: Request, complaint_id: uuid.UUID) -> Response:
        return await decision(request, complaint_id, "accept", "preview")

    @r.post("/intake/{complaint_id}/accept")
    async def accept(request: Request, complaint_id: uuid.UUID) -> Response:
        return await decision(request, complaint_id, "accept", "send")

    @r.post("/intake/{complaint_id}/reject-preview")
    async def preview_reject(request: Request, complaint_id: uuid.UUID) -> Response:
        return await decision(request, complaint_id, "reject", "preview")

    @r.post("/intake/{complaint_id}/reject")
    async def reject(request: Request, complaint_id: uuid.UUID) -> Response:
        return await decision(request, complaint_id, "reject", "send")

    @r.post("/intake/{complaint_id}/merge")
    async def merge(request: Request, complaint_id: uuid.UUID) -> Response:
        """First the confirmation (both complaints side by side), then the merge."""
        principal = await require_staff(request, *INTAKE_ROLES)
        lang = web.lang(request)
        case = await received_case(request, complaint_id)
        if case is None:
            return not_found(request, principal)
        raw = await form_data(request)
        if not web.csrf.verify(request, raw):
            alert = gettext(lang, CSRF_REFUSED)
            return await show_case(request, principal, complaint_id, case, alert=alert, status=403)
        suggestions = await suggestions_for(request, complaint_id, case, lang)
        chosen = next((s for s in suggestions if s.complaint_id == raw.get("duplicate_of")), None)
        if chosen is None:
            alert = gettext(lang, NOT_A_DUPLICATE)
            return await show_case(request, principal, complaint_id, case, alert=alert, status=422)
        if raw.get("confirmed") != "1":
            return await show_case(request, principal, complaint_id, case, merge=chosen)
        link = {
            "primary_complaint_id": chosen.complaint_id,
            "duplicate_complaint_id": str(complaint_id),
            "linked": True,
        }
        try:
            await send_action(
                request,
                settings.naming,
                MERGE,
                complaint_id,
                principal,
                link,
                raw.get("form_id") or None,
            )
        except DomainProblem as problem:
            alert = problem_text(problem, lang)
            return await show_case(
                request, principal, complaint_id, case, alert=alert, status=problem.status
            )
        return see_other(f"/staff/cases/{complaint_id}")

    return r
