"""`tousu attachments`: the files attached to cases (docs/attachments.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import asyncpg
import typer

from tousu.cli import app
from tousu.cli._console import console
from tousu.cli._db import with_database
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.store import store_for
from tousu.shared.attachments.sweep import Swept, sweep
from tousu.shared.events import utcnow
from tousu.shared.settings import load_settings

attachments_app = typer.Typer(
    help="Files attached to cases: kept sealed outside the events.", no_args_is_help=True
)
app.add_typer(attachments_app, name="attachments")

out = console(soft_wrap=True, highlight=False)


def attachments_of(conn: asyncpg.Connection) -> Attachments:
    """The deployment's attachment store, its keys read over ``conn``."""
    settings = load_settings()
    return Attachments(store_for(settings), conn, AttachmentLimits.of(settings.attachments))


@attachments_app.command("sweep")
def sweep_cmd(
    grace_hours: Annotated[
        float | None,
        typer.Option(help="Keep unreferenced files younger than this (default: the setting)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, remove nothing.")] = False,
) -> None:
    """Remove stored files no event refers to, once older than the grace period
    (TOUSU_ATTACHMENTS_SWEEP_GRACE_HOURS): uploads whose command failed."""
    settings = load_settings()
    hours = grace_hours if grace_hours is not None else settings.attachments.sweep_grace_hours

    async def work(conn: asyncpg.Connection) -> Swept:
        store = store_for(settings)
        return await sweep(conn, store, grace=timedelta(hours=hours), now=utcnow(), dry_run=dry_run)

    swept = with_database(work, missing_table="run `tousu migrate` first")
    verb = "would remove" if dry_run else "removed"
    for name in swept.removed:
        out.print(f"{verb} {name}")
    out.print(
        f"{verb} {len(swept.removed)} unreferenced files and {swept.leftovers} "
        f"unfinished uploads; kept {swept.kept}."
    )
