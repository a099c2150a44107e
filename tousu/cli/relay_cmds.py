"""`tousu relay quarantine`: events the relay could not publish — list, show, release."""

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
from tousu.cli._console import console, key_column, text_column
from tousu.cli._db import fail, with_database
from tousu.services.relay import quarantine
from tousu.shared.naming import is_token

relay_app = typer.Typer(help="The relay (store → JetStream).", no_args_is_help=True)
app.add_typer(relay_app, name="relay")
quarantine_app = typer.Typer(
    help="Events the relay set aside because they cannot be published.", no_args_is_help=True
)
relay_app.add_typer(quarantine_app, name="quarantine")

out = console()
T = TypeVar("T")
_DETAIL_WIDTH = 60


def _with_db(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    return with_database(
        work, missing_table="the relay_quarantine table is missing: run `tousu migrate` first"
    )


def _event_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        fail(f"not an event id: {text!r}")


@quarantine_app.command("list")
def list_cmd(
    everything: bool = typer.Option(
        False, "--all", help="Include released events the relay has published since."
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Events set aside, in commit order; the relay published every event after them."""
    found = _with_db(lambda conn: quarantine.entries(conn, everything=everything))
    if as_json:
        for entry in found:
            out.print_json(json.dumps(entry.as_dict(), ensure_ascii=False), indent=None)
        return
    if not found:
        out.print("the quarantine is empty")
        return
    table = Table(title=f"relay quarantine ({len(found)})")
    for column in ("event id", "position", "type", "status", "reason", "since", "detail"):
        if column in ("event id", "position"):
            key_column(table, column)
        else:
            text_column(table, column)
    for e in found:
        table.add_row(
            str(e.event_id),
            str(e.global_position),
            e.type if is_token(e.type) else repr(e.type),
            e.status,
            e.reason,
            e.quarantined_at.isoformat(timespec="seconds"),
            _short(e.detail),
        )
    out.print(table)


@quarantine_app.command("show")
def show_cmd(event_id: str = typer.Argument(..., metavar="EVENT_ID")) -> None:
    """One quarantined event: why, since when, its release."""
    parsed = _event_id(event_id)
    found = _with_db(lambda conn: quarantine.entry(conn, parsed))
    if found is None:
        fail(f"event {parsed} is not in the quarantine")
    out.print_json(json.dumps(found.as_dict(), ensure_ascii=False))


@quarantine_app.command("release")
def release_cmd(
    event_ids: Annotated[list[str] | None, typer.Argument(metavar="[EVENT_ID]...")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every held event.")] = False,
) -> None:
    """Let the relay try again to publish held events.

    For after fixing the cause (the stream's message size, say) or upgrading.

    The relay publishes each at the stream's end, marked Tousu-Released; one
    that fails again is held again with its new reason.
    """
    if bool(event_ids) == every:
        raise typer.BadParameter("give event ids or --all")
    wanted = None if every else [_event_id(e) for e in event_ids or ()]
    by = getpass.getuser()
    released = _with_db(lambda conn: quarantine.release(conn, wanted, by))
    for event_id in released:
        out.print(f"{event_id}: released; the relay publishes it next")
    missing = set(wanted or ()) - set(released)
    for event_id in sorted(missing):
        out.print(f"{event_id}: not held in the quarantine", style="yellow")
    if not released and not missing:
        out.print("nothing to release")
    if missing:
        raise typer.Exit(1)


def _short(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= _DETAIL_WIDTH else line[: _DETAIL_WIDTH - 1] + "…"
