"""`tousu chaos`: complaints through their whole lifecycle while every service,
the relay leader, nats-server and PostgreSQL are killed in turn; then the
audit. Its own embedded servers on spare ports: nothing shared is killed."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.chaos.audit import problems
from bench.chaos.run import ChaosConfig, run_chaos
from bench.chaos.table import chaos_table
from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console as make_console


@app.command()
def chaos(
    complaints: Annotated[int, typer.Option(help="Complaints to drive to closed.", min=1)] = 2000,
    in_flight: Annotated[
        int, typer.Option("--in-flight", help="Complaints under way at once.", min=1)
    ] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the retry jitter.")] = 1,
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep servers' data and processes' logs here (default: a temp folder)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the JSON here.")
    ] = None,
) -> None:
    """Fault injection (kill -9) under load; prints the figures as JSON (stdout) and a table.

    Exits 1 if a complaint did not close, an event was lost or duplicated, a
    notice was sent twice, a consumer did not resume or a dead letter remains.
    """
    console = make_console(stderr=True)
    # Our own clients lose their servers on purpose: their reconnect
    # tracebacks would bury the progress bar.
    for noisy in ("nats.aio.client", "asyncpg.pool"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    config = ChaosConfig(complaints=complaints, in_flight=in_flight, seed=seed, keep=keep)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[kills]} kills"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("closed", total=complaints, kills=0)

        def progress(submitted: int, closed: int, kills: int) -> None:
            bar.update(task, completed=closed, kills=kills)

        figures = run(run_chaos(config, progress))
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    typer.echo(text)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    table = Table(title="tousu chaos", show_header=False)
    for name, value in chaos_table(figures):
        table.add_row(name, value)
    console.print(table)
    found = problems(figures)
    for problem in found:
        console.print(f"[red]✗ {problem}[/red]")
    if found:
        raise typer.Exit(1)
