"""`tousu import`: an earlier system's complaints, decided in this process by
the domain under the import's rules and appended in batches to the store of
the running system, whose relay and services publish and project them
(tousu/importer/, docs/import.md)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console
from tousu.cli._db import fail
from tousu.connect import NotConfiguredError, database_url
from tousu.importer.mapping import Mapping, MappingError
from tousu.importer.records import Recorder, Refusal
from tousu.importer.rows import FileError, count_rows, header_and_rows
from tousu.importer.run import BATCH, Importer, Summary
from tousu.shared.application.context_source import ContextSource
from tousu.shared.domain.context import DecisionContext
from tousu.shared.events import Actor
from tousu.shared.settings import load_settings
from tousu.shared.store.postgres import PostgresEventStore

out = console()
err = console(stderr=True, soft_wrap=True)
# Refusals printed on the terminal; all of them go to --report.
# The exit code when some rows were refused (docs/import.md).
REFUSED_ROWS = 3
SHOWN = 50


async def importer_actor(pool: asyncpg.Pool, username: str) -> Actor:
    """The administrator the import is recorded as: an active admin account."""
    row = await pool.fetchrow("SELECT role, active FROM users WHERE username = $1", username)
    if row is None or row["role"] != "admin" or not row["active"]:
        raise PermissionError(
            f"{username!r} is not an active administrator account "
            "(tousu users add NAME --role admin): only an administrator imports history"
        )
    return Actor(id=username, role="admin")


async def import_file(
    path: Path,
    mapping: Mapping,
    *,
    url: str,
    username: str,
    source: str | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> Summary:
    """Import ``path`` into the database at ``url`` as ``username``."""
    header, rows = header_and_rows(path)
    missing = mapping.missing_columns(header)
    if missing:
        raise MappingError(f"{path}: the file has no column {', '.join(map(repr, missing))}")
    store = await PostgresEventStore.connect(url, min_size=1, max_size=2)
    context = ContextSource.for_settings(load_settings())
    try:
        actor = await importer_actor(store.pool, username)
        await context.start(url)  # the calendar years imported into this database

        def decision_context() -> DecisionContext:
            # The import's rules (shared/domain/imports.py): only here.
            return replace(context(), importing=True)

        recorder = Recorder(mapping, actor, decision_context, source=source)
        importer = Importer(store, recorder, dry_run=dry_run, batch=batch)
        if progress is None:
            return await importer.run(rows)
        # Shown from here: a file, mapping or account refused above prints its
        # error alone, not under an empty bar (or a blank line in a log).
        progress.start()
        task = progress.add_task("import", total=count_rows(path))
        return await importer.run(rows, lambda n: progress.advance(task, n))
    finally:
        await context.stop()
        await store.close()


def write_report(path: Path, refused: list[Refusal]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "external_id", "field", "reason"])
        for r in sorted(refused, key=lambda r: r.row):
            writer.writerow([r.row, r.old_id, r.field, r.reason])


def _summary(s: Summary) -> Table:
    title = "导入（试运行，未写入）" if s.dry_run else "导入"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("行数", justify="right")
    table.add_row("读取 rows read", str(s.read))
    table.add_row("可导入 valid" if s.dry_run else "已导入 imported", str(s.imported))
    table.add_row("已存在 already there", str(s.already))
    table.add_row("拒绝 refused", str(len(s.refused)))
    table.add_row("行/秒 rows/s", f"{s.rows_per_second:.0f}")
    return table


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .csv or .xlsx file.")
    ],
    mapping_file: Annotated[
        Path,
        typer.Option(
            "--mapping", exists=True, dir_okay=False, help="The mapping file (docs/import.md)."
        ),
    ],
    username: Annotated[
        str, typer.Option("--as", help="The administrator account the import is recorded as.")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--organisation-source",
            help="The earlier system's name (default: the mapping's source); part of each "
            "complaint's id and of each step's reason.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; write nothing.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Write the refused rows to this CSV file."),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=5000, help="Rows per transaction.")
    ] = BATCH,
) -> None:
    """Import an earlier system's complaints with their real dates (导入历史投诉)."""
    try:
        mapping = Mapping.load(mapping_file)
        url = database_url(load_settings())
        columns = (
            TextColumn("[bold]导入"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        progress = Progress(*columns, console=err)
        try:
            summary = run(
                import_file(
                    file,
                    mapping,
                    url=url,
                    username=username,
                    source=source,
                    dry_run=dry_run,
                    batch=batch,
                    progress=progress,
                )
            )
        finally:
            # Only if it started: Progress.stop() writes a blank line to a log anyway.
            if progress.live.is_started:
                progress.stop()
    except (MappingError, FileError, PermissionError, NotConfiguredError) as exc:
        fail(str(exc))
    except (OSError, asyncpg.PostgresError) as exc:
        fail(f"cannot reach PostgreSQL: {exc}")
    out.print(_summary(summary))
    for r in sorted(summary.refused, key=lambda r: r.row)[:SHOWN]:
        err.print(f"row {r.row} ({r.old_id or '-'}): {r.field}: {r.reason}", markup=False)
    if len(summary.refused) > SHOWN:
        err.print(f"… {len(summary.refused) - SHOWN} more refused rows (--report FILE lists all)")
    if report is not None:
        write_report(report, summary.refused)
        err.print(f"refused rows: {report}")
    if summary.imported == 0 and summary.already and not summary.dry_run:
        out.print(f"nothing new: {summary.already} rows were imported before (没有新增)")
    if summary.refused:
        # The rest are in (or, in a dry run, would be): a script still learns
        # that some rows were not, without reading the report.
        raise typer.Exit(REFUSED_ROWS)
