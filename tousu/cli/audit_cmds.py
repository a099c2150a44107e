"""`tousu audit`: the event store's hash chain — verify it, seal it now — and
the late entries (补录) it holds."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console
from tousu.cli._db import with_database
from tousu.cli.attachments_cmds import attachments_of
from tousu.services.metrics.views import late_entries, late_entry_counts
from tousu.shared.attachments.audit import FilesReport, verify_files
from tousu.shared.calendar import TZ
from tousu.shared.events import types as ev
from tousu.shared.store.chain import seal_all
from tousu.shared.store.chain_verify import ChainReport, Problem, count_seals, verify_chain

audit_app = typer.Typer(
    help="Tamper evidence (防篡改): the hash chain over stored events.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

out = console(soft_wrap=True, highlight=False)
err = console(stderr=True, soft_wrap=True, highlight=False)

T = TypeVar("T")
LANGUAGES = ("zh-CN", "en")
# verify's exit codes: 0 intact, 1 broken, 2 could not check.
CANNOT_CHECK = 2

_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "walking": "校验哈希链",
        "intact": "哈希链完整：已校验 {verified} 个事件。",
        "unsealed": "最新的 {count} 个事件尚未封存（中继会在约一秒内封存）。",
        "head": "链头哈希：{head}",
        "tampered": "哈希链被破坏：已校验 {verified} 个事件，第一个有问题的事件：",
        "event": "  位置 {position}，事件 {event_id}，流 {stream_id}，类型 {type}",
        "edited": "  被修改：内容与封存的哈希不符。",
        "deleted": "  前面有事件被删除：缺少位置 {other_position} 的事件 {other_event_id}。",
        "deleted_seals": "  前面有事件被删除：链中缺少其前面的封存记录。",
        "reordered": "  顺序被改动：这里封存的是位置 {other_position} 的事件 {other_event_id}。",
        "inserted": "  被插入：已封存范围内有一个没有封存记录的事件。",
        "sealed": "已封存 {count} 个事件。",
        "no_table": "没有 event_seals 表：请先运行 `tousu migrate`。",
        "no_db": "无法连接数据库：{error}",
        "late": "补录：{count} 处，其中 {beyond} 处超出时限、经督办人员批准"
        "（`tousu audit late-entries` 列出）。",
        "late_title": "补录（晚于发生时间录入的事实）",
        "late_columns": "录入时间|发生时间|投诉件|环节|录入人|批准人|理由",
        "late_none": "没有补录。",
        "files": "附件：{verified} 个完好，{erased} 个已随投诉人删除而不可读。",
        "files_bad": "附件有问题：{count} 个（流 {stream_id}，{name}）：{reason}",
    },
    "en": {
        "walking": "Verifying the hash chain",
        "intact": "Hash chain intact: {verified} events verified.",
        "unsealed": "The newest {count} events are not sealed yet "
        "(the relay seals them within about a second).",
        "head": "Chain head: {head}",
        "tampered": "Hash chain broken after {verified} verified events; the first bad event:",
        "event": "  position {position}, event {event_id}, stream {stream_id}, type {type}",
        "edited": "  edited: its content does not match its sealed hash.",
        "deleted": "  an event before it was deleted: event {other_event_id} "
        "at position {other_position} is missing.",
        "deleted_seals": "  an event before it was deleted: the seals before it are missing.",
        "reordered": "  reordered: the chain has event {other_event_id} "
        "(position {other_position}) here.",
        "inserted": "  inserted: an event inside the sealed range has no seal.",
        "sealed": "Sealed {count} events.",
        "no_table": "The event_seals table is missing: run `tousu migrate` first.",
        "no_db": "Database not reachable: {error}",
        "late": "Late entries (补录): {count}, {beyond} of them beyond the window, "
        "approved by a supervisor (listed by `tousu audit late-entries`).",
        "late_title": "Late entries (facts recorded later than they happened)",
        "late_columns": "Recorded|Happened|Complaint|Steps|Recorded by|Approved by|Reason",
        "late_none": "No late entries.",
        "files": "Attachments: {verified} intact, "
        "{erased} unreadable by their complainant's erasure.",
        "files_bad": "Attachments with problems: {count} (stream {stream_id}, {name}): {reason}",
    },
}


def _with_db(lang: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    text = _TEXT[lang]
    return with_database(
        work, missing_table=text["no_table"], unreachable=text["no_db"], code=CANNOT_CHECK
    )


def _language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise typer.BadParameter(f"use one of {', '.join(LANGUAGES)}", param_hint="--lang")
    return lang


LangOption = Annotated[str, typer.Option("--lang", help="zh-CN or en.")]


@audit_app.command("verify")
def verify_cmd(
    lang: LangOption = "zh-CN",
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Walk the hash chain; name the first event edited, deleted or reordered.

    Exit code 0 when the chain is intact, 1 when it is broken, 2 when it
    could not be checked.
    """
    text = _TEXT[_language(lang)]

    async def work(
        conn: asyncpg.Connection,
    ) -> tuple[ChainReport, tuple[int, int], FilesReport]:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            late = await late_entry_counts(conn)
            total = await count_seals(conn)
            with Progress(
                TextColumn(text["walking"]),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=as_json,
            ) as progress:
                task = progress.add_task("verify", total=total)
                report = await verify_chain(conn, lambda n: progress.update(task, completed=n))
            # Each file an event names is stored and has the hash it records.
            files = await verify_files(attachments_of(conn))
            return report, late, files

    report, (late, beyond), files = _with_db(lang, work)
    if as_json:
        doc = _as_json(report) | {
            "late_entries": late,
            "late_entries_beyond_window": beyond,
            "attachments": {
                "verified": files.verified,
                "erased": files.erased,
                "problems": [vars(p) for p in files.problems],
            },
        }
        out.print_json(json.dumps(doc))
    else:
        _show(report, text)
        out.print(text["late"].format(count=late, beyond=beyond))
        out.print(text["files"].format(verified=files.verified, erased=files.erased))
        if files.problems:
            first = files.problems[0]
            out.print(
                f"[red]{text['files_bad'].format(count=len(files.problems), **vars(first))}[/red]"
            )
    raise typer.Exit(0 if report.intact and files.intact else 1)


@audit_app.command("late-entries")
def late_entries_cmd(
    lang: LangOption = "zh-CN",
    beyond_window: Annotated[
        bool, typer.Option("--beyond-window", help="Only those a supervisor approved.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List the late entries (补录), newest first: facts recorded later than
    they happened, who recorded them, and who approved them with what reason."""
    text = _TEXT[_language(lang)]

    async def work(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return await late_entries(conn, beyond_window=beyond_window, limit=limit)

    entries = [_late_entry(r) for r in _with_db(lang, work)]
    if as_json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    if not entries:
        out.print(text["late_none"])
        return
    table = Table(title=text["late_title"], title_justify="left")
    columns = text["late_columns"].split("|")
    add_columns(table, columns, keys=columns[2:3])  # the complaint's tracking number
    for e in entries:
        table.add_row(
            e["recorded_at"][:16].replace("T", " "),
            e["occurred_at"][:16].replace("T", " "),
            e["tracking_no"] or e["complaint_id"],
            ", ".join(e["events"]),
            e["recorded_by"],
            e["approved_by"] or "—",
            e["reason"] or "—",
        )
    out.print(table)


def _late_entry(row: asyncpg.Record) -> dict[str, Any]:
    data = json.loads(row["data"]) if isinstance(row["data"], str) else dict(row["data"])
    mark = ev.LateEntryRecorded.model_validate(data)
    actor = json.loads(row["actor"]) if isinstance(row["actor"], str) else dict(row["actor"])
    return {
        "complaint_id": str(row["stream_id"]).removeprefix("complaint-"),
        "tracking_no": row["tracking_no"],
        "version": row["version"],
        "occurred_at": row["occurred_at"].astimezone(TZ).isoformat(),
        "recorded_at": row["recorded_at"].astimezone(TZ).isoformat(),
        "events": mark.events,
        "late_by_seconds": mark.late_by_seconds,
        "window": mark.window,
        "within_window": mark.within_window,
        "recorded_by": actor.get("id"),
        "approved_by": mark.approved_by,
        "reason": mark.reason,
    }


@audit_app.command("seal")
def seal_cmd(lang: LangOption = "zh-CN") -> None:
    """Seal every committed event not sealed yet (the relay does this by itself)."""
    text = _TEXT[_language(lang)]
    count = _with_db(lang, seal_all)
    out.print(text["sealed"].format(count=count))


def _show(report: ChainReport, text: dict[str, str]) -> None:
    problem = report.problem
    if problem is None:
        out.print(f"[green]{text['intact'].format(verified=report.verified)}[/green]")
        if report.unsealed:
            out.print(text["unsealed"].format(count=report.unsealed))
        if report.head is not None:
            out.print(text["head"].format(head=report.head.hex()))
        return
    out.print(f"[red]{text['tampered'].format(verified=report.verified)}[/red]")
    out.print(text["event"].format(**_fields(problem)), markup=False)
    reason = (
        "deleted_seals"
        if problem.kind == "deleted" and problem.other_event_id is None
        else problem.kind
    )
    out.print(text[reason].format(**_fields(problem)), markup=False)


def _fields(problem: Problem) -> dict[str, object]:
    return {
        "kind": problem.kind,
        "seq": problem.seq,
        "position": problem.position,
        "event_id": str(problem.event_id) if problem.event_id else None,
        "stream_id": problem.stream_id,
        "type": problem.type,
        "other_position": problem.other_position,
        "other_event_id": str(problem.other_event_id) if problem.other_event_id else None,
    }


def _as_json(report: ChainReport) -> dict[str, object]:
    return {
        "intact": report.intact,
        "verified": report.verified,
        "sealed": report.sealed,
        "unsealed": report.unsealed,
        "head": report.head.hex() if report.head else None,
        "problem": _fields(report.problem) if report.problem else None,
    }
