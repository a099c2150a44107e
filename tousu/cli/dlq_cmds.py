"""`tousu dlq`: dead letters of the consumers — list, show, retry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import nats
import typer
from nats.js import JetStreamContext
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console, key_column, text_column
from tousu.connect import NotConfiguredError, nats_url
from tousu.shared import dlq
from tousu.shared.settings import Settings, load_settings

dlq_app = typer.Typer(
    help="Dead letters: events a consumer could not handle after its last try.",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")

out = console()
err = console(stderr=True)

T = TypeVar("T")
_ERROR_WIDTH = 80


@asynccontextmanager
async def _jetstream(url: str) -> AsyncIterator[JetStreamContext]:
    # Few tries: with the server down a command should fail soon, not retry
    # for minutes (nats-py's defaults) printing each failure.
    client = await nats.connect(
        url,
        name="tousu-cli-dlq",
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=_quiet,
    )
    try:
        yield client.jetstream()
    finally:
        await client.close()


async def _quiet(_: Exception) -> None:
    pass  # the failure is reported once, as the command's error


def _with_js(work: Callable[[JetStreamContext, Settings], Awaitable[T]]) -> T:
    """Run ``work`` against the configured NATS; known failures exit 1 with a message."""
    settings = load_settings()

    async def go(url: str) -> T:
        async with _jetstream(url) as js:
            return await work(js, settings)

    try:
        url = nats_url(settings)
        return run(go(url))
    except (dlq.UnknownEntry, NotConfiguredError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except nats.errors.NoServersError:
        err.print(f"[red]cannot reach NATS at {url}[/red]")
        raise typer.Exit(1) from None


@dlq_app.command("list")
def list_cmd(
    consumer: str | None = typer.Option(None, "--consumer", "-c", help="Only this consumer's."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Dead letters, oldest first."""
    entries = _with_js(lambda js, s: dlq.list_entries(js, s.naming, consumer))
    if as_json:
        for entry in entries:
            out.print_json(json.dumps(entry.as_dict()), indent=None)
        return
    if not entries:
        out.print("no dead letters")
        return
    table = Table(title=f"dead letters ({len(entries)})")
    for column in ("id", "consumer", "event type", "event id", "failed at", "tries", "error"):
        if column in ("id", "event id", "failed at"):
            key_column(table, column)
        else:
            text_column(table, column)
    for e in entries:
        table.add_row(
            str(e.id),
            e.consumer,
            e.event_type or "-",
            e.event_id or "-",
            e.failed_at.isoformat(timespec="seconds") if e.failed_at else "-",
            str(e.deliveries or "-"),
            _short(e.error),
        )
    out.print(table)


@dlq_app.command("show")
def show_cmd(entry_id: int = typer.Argument(..., metavar="ID")) -> None:
    """One dead letter in full: error, traceback, headers and payload."""
    entry = _with_js(lambda js, s: dlq.get_entry(js, s.naming, entry_id))
    out.print_json(json.dumps(entry.as_dict(details=True), ensure_ascii=False))


@dlq_app.command("retry")
def retry_cmd(
    entry_id: int | None = typer.Argument(None, metavar="[ID]"),
    all_of: str | None = typer.Option(
        None, "--all", metavar="CONSUMER", help="Every dead letter of this consumer."
    ),
) -> None:
    """Replay a dead letter to the consumer that failed it (and remove it from the list)."""
    if (entry_id is None) == (all_of is None):
        raise typer.BadParameter("give either an ID or --all CONSUMER")
    if entry_id is not None:
        found = entry_id
        results = _with_js(lambda js, s: _one(js, s, found))
    else:
        consumer = str(all_of)
        results = _with_js(lambda js, s: dlq.retry_all(js, s.naming, consumer))
    for r in results:
        note = " (already replayed before)" if r.duplicate else ""
        out.print(f"{r.id}: replayed event {r.event_id or '-'} to {r.consumer}{note}")
    if not results:
        out.print("nothing to retry")


async def _one(js: JetStreamContext, settings: Settings, entry_id: int) -> list[dlq.RetryResult]:
    return [await dlq.retry(js, settings.naming, entry_id)]


def _short(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= _ERROR_WIDTH else line[: _ERROR_WIDTH - 1] + "…"
