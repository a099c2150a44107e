"""`tousu migrate` and `tousu events tail`."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console as make_console
from tousu.connect import database_url
from tousu.database import prepare_database as apply_migrations
from tousu.shared.settings import load_settings
from tousu.shared.store.postgres import PostgresEventStore

events_app = typer.Typer(help="The event store (事件存储).", no_args_is_help=True)
app.add_typer(events_app, name="events")
console = make_console()
# Characters of an event's data a line shows (`--json` shows it all).
DATA_SHOWN = 120


@app.command()
def migrate() -> None:
    """Apply the database migrations that are missing (safe to run again)."""
    applied = run(apply_migrations(database_url(load_settings())))
    if applied:
        for name in applied:
            console.print(f"applied [bold]{name}[/bold]")
    else:
        console.print("database is up to date")


@events_app.command("tail")
def tail(
    after: int = typer.Option(0, help="Start after this global position (0: the beginning)."),
    follow: bool = typer.Option(True, "--follow/--no-follow", help="Keep waiting for new events."),
    as_json: bool = typer.Option(False, "--json", help="One JSON envelope per line."),
) -> None:
    """Print stored events in commit order, then follow new ones as they commit."""
    run(_tail(after, follow, as_json))


async def _tail(after: int, follow: bool, as_json: bool) -> None:
    settings = load_settings()
    store = await PostgresEventStore.connect(database_url(settings), min_size=1, max_size=2)
    try:
        async with store.wakeup() as wakeup:
            while True:
                page = await store.read_all(after=after, limit=500)
                for event in page:
                    if as_json:
                        print(event.model_dump_json())
                    else:
                        data = json.dumps(event.data, ensure_ascii=False)
                        if len(data) > DATA_SHOWN:
                            data = data[:DATA_SHOWN] + "…"
                        # The tracking number whole, ahead of the data that is cut.
                        tracking_no = event.data.get("tracking_no")
                        shown = f"{tracking_no} " if tracking_no else ""
                        console.print(
                            f"{event.global_position:>8} {event.recorded_at:%Y-%m-%d %H:%M:%S} "
                            f"[bold]{event.type}[/bold] {event.stream_id} v{event.version} "
                            f"{event.department or '_'} {shown}{escape(data)}",
                            highlight=False,
                            # One line an event, whole: the terminal wraps it
                            # if it must, rich never cuts an id in two.
                            soft_wrap=True,
                        )
                if page:
                    after = page[-1].global_position
                    continue
                if not follow:
                    return
                await wakeup.wait(settings.store_idle_recheck)
    finally:
        await store.close()
