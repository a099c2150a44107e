"""`tousu privacy`: erasing a complainant's personal data, and who viewed it."""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console
from tousu.cli._db import fail, with_database
from tousu.shared.calendar import TZ
from tousu.shared.privacy import erase as erasure
from tousu.shared.privacy.upgrade import upgrade as upgrade_personal_data
from tousu.shared.privacy.views_log import list_views
from tousu.shared.private_files import tighten
from tousu.shared.settings import load_settings

privacy_app = typer.Typer(
    help="Complainants' personal data: erase it, list who viewed it.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")

out = console()
err = console(stderr=True, soft_wrap=True)

T = TypeVar("T")
CONFIRM = "删除后无法恢复。确定删除？ / This cannot be undone. Erase?"


def _with_db(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    return with_database(
        work, missing_table="the complainant_keys table is missing: run `tousu migrate` first"
    )


def _show(found: list[erasure.Found]) -> None:
    table = Table(title="将删除的投诉人个人信息 / personal data to erase", title_justify="left")
    columns = ("投诉人 complainant", "投诉编号 tracking no.", "受理时间 received", "状态")
    add_columns(table, columns, keys={"投诉编号 tracking no."})
    for f in found:
        state = "已删除 erased" if f.erased_at else "可读 readable"
        if not f.complaints:
            table.add_row(str(f.complainant_id), "—", "—", state)
        for c in f.complaints:
            table.add_row(
                str(f.complainant_id),
                c.tracking_no or str(c.complaint_id),
                c.received_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
                state,
            )
    err.print(table)


@privacy_app.command("erase")
def erase(
    who: Annotated[
        str,
        typer.Argument(
            help="A tracking number, a phone number, an e-mail address, "
            "or a complaint or complainant id."
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was erased as JSON.")] = False,
) -> None:
    """Destroy the complainant's key: their name, phone, e-mail, address and ID
    number become unreadable in every complaint, copy and backup, for good.
    The complaints, their deadlines and every KPI stay as they were."""
    found = _with_db(lambda conn: erasure.find(conn, who))
    if not found:
        fail(f"no complainant found for “{who}”")
    _show(found)
    pending = [f for f in found if f.erased_at is None]
    if not pending:
        err.print("已删除，无需再删 / already erased")
    elif not yes and not typer.confirm(CONFIRM):
        raise typer.Exit(1)
    by = getpass.getuser()
    erased = _with_db(lambda conn: erasure.erase(conn, pending, by)) if pending else 0
    if as_json:
        print(
            json.dumps(
                {
                    "erased": erased,
                    "complainants": [str(f.complainant_id) for f in found],
                    "complaints": [str(c.complaint_id) for f in found for c in f.complaints],
                }
            )
        )
    else:
        err.print(f"已删除 {erased} 位投诉人的密钥 / erased {erased} complainant key(s)")


@privacy_app.command("views")
def views(
    case: Annotated[
        uuid.UUID | None, typer.Option("--case", help="Only this complaint (its id).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, latest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Who viewed complainants' full personal data: when, which case, where."""
    found = _with_db(lambda conn: list_views(conn, case, limit))
    if as_json:
        for v in found:
            print(
                json.dumps(
                    {
                        "viewed_at": v.viewed_at.isoformat(),
                        "viewer": v.viewer,
                        "role": v.role,
                        "complaint_id": str(v.complaint_id),
                        "view": v.view,
                    }
                )
            )
        return
    table = Table(title="个人信息查看记录 / personal data views", title_justify="left")
    columns = ("时间 when", "查看人 who", "角色 role", "投诉件 case", "页面 view")
    add_columns(table, columns, keys={"投诉件 case"})
    for v in found:
        table.add_row(
            v.viewed_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"),
            v.viewer,
            v.role,
            str(v.complaint_id),
            v.view,
        )
    out.print(table)


@privacy_app.command("upgrade")
def upgrade() -> None:
    """Protect what earlier versions stored: wrap complainant keys kept
    unwrapped, seal contacts kept in plain text in the outbox, and make the
    data folder's files readable by their owner only. `tousu migrate` and
    `tousu up` do the first two by themselves; running it again changes nothing."""
    done = _with_db(upgrade_personal_data)
    tightened = tighten(load_settings().data_dir)
    for line in [*done.as_list(), f"restricted {tightened} files and folders to their owner"]:
        err.print(line)
