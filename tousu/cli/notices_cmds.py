"""`tousu notices`: the notice outbox — what was sent, what is retried, what gave up."""

from __future__ import annotations

import json
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console, show
from tousu.cli._db import fail, with_database
from tousu.services.followup.notices import (
    NoticeChannel,
    NoticeStatus,
    NotificationRecord,
    list_notifications,
)

notices_app = typer.Typer(
    help="Notices to complainants (告知): their delivery by e-mail, SMS, letter.",
    no_args_is_help=True,
)
app.add_typer(notices_app, name="notices")

out = console()
_ERROR_WIDTH = 80


def _row(n: NotificationRecord) -> dict[str, object]:
    # No recipient: the outbox keeps it sealed, and a terminal is no place for it.
    return {
        "id": str(n.id),
        "tracking_no": n.tracking_no,
        "kind": n.kind.value,
        "channel": n.channel.value,
        "status": n.status.value,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at.isoformat(),
        "sent_at": n.sent_at.isoformat() if n.sent_at else None,
        "provider_message_id": n.provider_message_id,
        "last_error": n.last_error,
        "created_at": n.created_at.isoformat(),
    }


@notices_app.command("list")
def list_cmd(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            help="Only these: pending, sending, sent, failed (retried), dead (given up).",
        ),
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", "-c", help="Only this channel: email, sms, letter…")
    ] = None,
    tracking_no: Annotated[
        str | None, typer.Option("--tracking-no", "-t", help="Only this complaint's.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Notices, oldest first: `--status dead` lists those that gave up, with why."""
    try:
        wanted = NoticeStatus(status) if status else None
        on = NoticeChannel(channel) if channel else None
    except ValueError as exc:
        fail(str(exc), code=2)

    async def read(conn: asyncpg.Connection) -> list[NotificationRecord]:
        found = await list_notifications(
            conn, status=wanted, tracking_no=tracking_no, limit=limit if on is None else 10_000
        )
        return [n for n in found if on is None or n.channel == on][:limit]

    found = with_database(read, missing_table="the outbox is missing: run `tousu migrate` first")
    if as_json:
        for n in found:
            print(json.dumps(_row(n), ensure_ascii=False))
        return
    if not found:
        out.print("no such notices")
        return
    table = Table(title=f"notices ({len(found)})")
    add_columns(
        table,
        ("tracking no", "kind", "channel", "status", "tries", "sent / next try", "error", "id"),
        keys={"tracking no", "id"},
    )
    for n in found:
        when = n.sent_at if n.sent_at else n.next_attempt_at
        error = (n.last_error or "-")[:_ERROR_WIDTH]
        table.add_row(
            n.tracking_no,
            n.kind.value,
            n.channel.value,
            n.status.value,
            str(n.attempts),
            when.isoformat(sep=" ", timespec="seconds"),
            error,
            str(n.id),
        )
    show(out, table)
