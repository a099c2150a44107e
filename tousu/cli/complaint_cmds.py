"""`tousu complaint show`: one complaint's state, deadlines and timeline, from its events."""

from __future__ import annotations

import getpass
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import add_columns, console
from tousu.connect import NotConfiguredError, database_url
from tousu.shared.calendar import TZ
from tousu.shared.domain.imports import IMPORT_WINDOW
from tousu.shared.domain.labels import deadline_label, event_label
from tousu.shared.domain.late_entries import late_marks
from tousu.shared.domain.state import ComplaintState, replay
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.identifiers import normalize_tracking_no
from tousu.shared.intake.taxonomy import Taxonomy
from tousu.shared.intake.tracking_numbers import complaint_of
from tousu.shared.privacy.reveal import reveal_history
from tousu.shared.privacy.views_log import record_view
from tousu.shared.settings import load_settings
from tousu.shared.store.postgres import PostgresEventStore

complaint_app = typer.Typer(help="投诉件：查看状态、期限和处理经过。", no_args_is_help=True)
app.add_typer(complaint_app, name="complaint")
out = console()
err = console(stderr=True)

CHANNELS = {
    ev.Channel.PHONE: "电话",
    ev.Channel.WEB: "网站",
    ev.Channel.WECHAT: "微信",
    ev.Channel.LETTER: "信件",
    ev.Channel.WALK_IN: "来访",
    ev.Channel.OPEN311: "Open311",
}
SATISFACTION = {
    ev.Satisfaction.SATISFIED: "满意",
    ev.Satisfaction.BASICALLY_SATISFIED: "基本满意",
    ev.Satisfaction.DISSATISFIED: "不满意",
    ev.Satisfaction.UNREACHABLE: "联系不上",
}
_SUMMARY_WIDTH = 48


class UnknownComplaint(LookupError):
    pass


@dataclass(frozen=True)
class Names:
    """Codes as people read them; an unknown code shows as itself."""

    taxonomy: Taxonomy
    register: CommitmentRegister

    @classmethod
    def load(cls) -> Names:
        return cls(Taxonomy.load(), CommitmentRegister.load())

    def department(self, code: str | None) -> str | None:
        if code is None:
            return None
        try:
            return self.register.department(code).name.get("zh")
        except Exception:  # a department removed from the register since
            return code

    def category(self, category: str | None, subcategory: str | None) -> str | None:
        if category is None:
            return None
        try:
            return self.taxonomy.label(category, subcategory, "zh")
        except Exception:
            return category


def local(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _SUMMARY_WIDTH else text[: _SUMMARY_WIDTH - 1] + "…"


def summary(envelope: Envelope, names: Names) -> str:
    """One line on what the event says."""
    d = decode(envelope)
    match d:
        case ev.ComplaintReceived():
            return f"{CHANNELS[d.channel]}：{d.subject}"
        case ev.ComplaintAccepted():
            due = local(d.feedback_deadline.due_at)
            return f"{names.category(d.category, d.subcategory)}，反馈期限 {due}"
        case ev.ComplaintRejected():
            return f"{d.reason}（建议：{d.suggestion}）"
        case ev.ComplaintRouted():
            return f"转 {names.department(d.department)}"
        case ev.CaseClaimed():
            return f"{names.department(d.department)} {d.handler or ''}".strip()
        case ev.CaseReturned():
            return f"{names.department(d.department)}退回：{d.reason}"
        case ev.InvestigationRecorded():
            return d.findings
        case ev.HandlingPlanProposed():
            return d.summary or f"{len(d.measures)}项措施"
        case ev.ComplainantConsulted():
            return ("同意" if d.agrees else "不同意") + (f"：{d.opinion}" if d.opinion else "")
        case ev.ProgressReported():
            return d.progress
        case ev.ExtensionRequested():
            return f"{d.working_days}个工作日：{d.reason}"
        case ev.ExtensionDecided():
            return f"同意延期{d.working_days}个工作日" if d.approved else "不同意延期"
        case ev.ComplaintResolved():
            return d.result
        case ev.ResultFeedbackSent():
            return f"经{CHANNELS[d.channel]}反馈（第{d.round}轮）"
        case ev.FollowUpScheduled():
            return f"回访期限 {local(d.due.due_at)}"
        case ev.ComplaintFollowedUp():
            return SATISFACTION[d.satisfaction] + (f"：{d.comment}" if d.comment else "")
        case ev.ComplaintReopened():
            return f"第{d.round}轮：{d.reason}"
        case ev.ComplaintClosed():
            # The reason is a satisfaction code when a follow-up closed it.
            reasons = {s.value: label for s, label in SATISFACTION.items()}
            return reasons.get(d.reason or "", d.reason or "")
        case ev.SupervisionRaised():
            return f"{d.kind}" + (f"：{d.note}" if d.note else "")
        case ev.DuplicateLinked():
            return f"{d.duplicate_complaint_id} → {d.primary_complaint_id}"
        case ev.DeadlineRecalculated():
            return f"{local(d.previous.due_at)} → {local(d.current.due_at)}：{d.reason}"
    return ""


def _deadline(d: ev.Deadline | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "kind": d.kind.value,
        "label": deadline_label(d.kind.value, "zh"),
        "due_at": d.due_at.astimezone(TZ).isoformat(),
        "working_days": d.working_days,
        "provisional": d.provisional,
    }


def _late_entry(marked: tuple[Envelope, ev.LateEntryRecorded] | None) -> dict[str, Any] | None:
    """A step's late-entry (补录) mark: when it was recorded, how late, and
    who approved it beyond the window, with what reason."""
    if marked is None:
        return None
    envelope, mark = marked
    return {
        "recorded_at": envelope.recorded_at.astimezone(TZ).isoformat(),
        "late_by_seconds": mark.late_by_seconds,
        "window": mark.window,
        "within_window": mark.within_window,
        "approved_by": mark.approved_by,
        "reason": mark.reason,
    }


def _late_note(late: dict[str, Any] | None) -> str:
    if late is None:
        return ""
    # An earlier system's history brought in by `tousu import` reads as such.
    kind = "导入" if late["window"] == IMPORT_WINDOW else "补录"
    note = f"【{kind} {late['recorded_at'][:16].replace('T', ' ')} 录入"
    if late["approved_by"]:
        note += f"，经 {late['approved_by']} 批准"
    if late["reason"]:
        note += f"：{late['reason']}"
    return note + "】"


def view(
    complaint_id: uuid.UUID, state: ComplaintState, history: list[Envelope], names: Names
) -> dict[str, Any]:
    """The complaint as a JSON-able document (what `--json` prints)."""
    assert state.status is not None
    who = state.complainant
    marks = late_marks(history)
    return {
        "complaint_id": str(complaint_id),
        "tracking_no": state.tracking_no,
        "status": state.status.value,
        "status_label": state.status.label("zh"),
        "channel": state.channel.value if state.channel else None,
        "channel_label": CHANNELS[state.channel] if state.channel else None,
        "subject": state.subject,
        "complainant": None if who is None or who.anonymous else who.name,
        # Their key was destroyed (`tousu privacy erase`): the name is gone for good.
        "complainant_erased": bool(who and who.erased),
        "category": state.category,
        "category_label": names.category(state.category, state.subcategory),
        "department": state.department,
        "department_label": names.department(state.department),
        "handler": state.handler,
        "round": state.round,
        "satisfaction": state.satisfaction.value if state.satisfaction else None,
        "deadlines": [
            _deadline(state.deadlines[k]) for k in ev.DeadlineKind if k in state.deadlines
        ],
        "promised_feedback": _deadline(state.promised_feedback),
        "timeline": [
            {
                "version": e.version,
                "occurred_at": e.occurred_at.astimezone(TZ).isoformat(),
                "type": e.type,
                "label": event_label(e.type, "zh"),
                "actor": e.actor.id,
                "actor_role": e.actor.role,
                "summary": summary(e, names),
                "late_entry": _late_entry(marks.get(e.version)),
            }
            for e in history
            # A mark is not a step: it is shown on the steps it marks.
            if e.type != ev.LateEntryRecorded.event_type()
        ],
        "late_entries": len({m.version for m, _ in marks.values()}),
    }


async def resolve(store: PostgresEventStore, text: str) -> uuid.UUID:
    """A complaint id, from itself or from a tracking number as a person typed it."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        pass
    tracking_no = normalize_tracking_no(text)
    if tracking_no is None:
        raise UnknownComplaint(f"“{text}”既不是投诉编号也不是投诉件 id")
    found = await complaint_of(store.pool, tracking_no)
    if found is None:
        raise UnknownComplaint(f"未找到投诉编号为 {tracking_no} 的投诉")
    return uuid.UUID(str(found))


async def load(text: str) -> dict[str, Any]:
    store = await PostgresEventStore.connect(database_url(load_settings()), min_size=1, max_size=2)
    try:
        complaint_id = await resolve(store, text)
        history = await store.read_stream(f"{STREAM_PREFIX}{complaint_id}")
        state = replay(history)
        if not state.exists:
            raise UnknownComplaint(f"未找到投诉件 {complaint_id}")
        history = await reveal_history(store.pool, history)
        state = replay(history)
        if state.complainant and state.complainant.name:
            await record_view(store.pool, getpass.getuser(), "cli", complaint_id, "cli_show")
        return view(complaint_id, state, history, Names.load())
    finally:
        await store.close()


def _complainant(doc: dict[str, Any]) -> str:
    if doc.get("complainant_erased"):
        return "（已删除 erased）"
    return str(doc["complainant"] or "（匿名或未留姓名）")


def _print(doc: dict[str, Any]) -> None:
    head = Table(title=f"投诉 {doc['tracking_no']}", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    rows = [
        ("状态", doc["status_label"]),
        ("事项", doc["subject"]),
        ("渠道", doc["channel_label"]),
        ("投诉人", _complainant(doc)),
        ("分类", doc["category_label"]),
        ("承办部门", doc["department_label"]),
        ("承办人", doc["handler"]),
        ("办理轮次", str(doc["round"])),
        ("投诉件 id", doc["complaint_id"]),
    ]
    for name, value in rows:
        head.add_row(name, value or "—")
    out.print(head)

    deadlines = Table(title="期限（北京时间）", title_justify="left")
    add_columns(deadlines, ("期限", "截止", "工作日", "备注"), keys={"截止"})
    promised = doc["promised_feedback"]
    shown = [*doc["deadlines"], *([promised | {"label": "承诺反馈日期"}] if promised else [])]
    for d in shown:
        note = "暂定（节假日安排未公布）" if d["provisional"] else ""
        deadlines.add_row(
            d["label"], d["due_at"][:16].replace("T", " "), str(d["working_days"]), note
        )
    out.print(deadlines)

    timeline = Table(title="处理经过", title_justify="left")
    add_columns(timeline, ("时间（北京时间）", "环节", "操作人", "摘要"), keys={"时间（北京时间）"})
    for e in doc["timeline"]:
        when = e["occurred_at"][:16].replace("T", " ")
        late = _late_note(e["late_entry"])
        imported = e["late_entry"] is not None and e["late_entry"]["window"] == IMPORT_WINDOW
        label = e["label"] + (("（导入）" if imported else "（补录）") if late else "")
        timeline.add_row(when, label, e["actor"], _short(e["summary"]) + late)
    out.print(timeline)


@complaint_app.command("show")
def show(
    complaint: str = typer.Argument(..., help="投诉编号（如 TS2603-…）或投诉件 id"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """One complaint: its state, deadlines and timeline."""
    try:
        doc = run(load(complaint))
    except (UnknownComplaint, NotConfiguredError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except (OSError, asyncpg.PostgresError) as exc:
        err.print(f"[red]cannot read the event store: {exc}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        _print(doc)
