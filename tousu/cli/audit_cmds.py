"""`tousu audit`: the event store's hash chain — verify it, seal it now."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.store.chain import seal_all
from shared.store.chain_verify import ChainReport, Problem, count_seals, verify_chain
from tousu.cli import app
from tousu.cli._db import with_database

audit_app = typer.Typer(
    help="Tamper evidence (防篡改): the hash chain over stored events.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

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

    async def work(conn: asyncpg.Connection) -> ChainReport:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
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
                return await verify_chain(conn, lambda n: progress.update(task, completed=n))

    report = _with_db(lang, work)
    if as_json:
        out.print_json(json.dumps(_as_json(report)))
    else:
        _show(report, text)
    raise typer.Exit(0 if report.intact else 1)


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
