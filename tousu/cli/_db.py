"""A database connection for a command, and the one way a command ends on failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import asyncpg
import typer

from tousu.cli._async import run
from tousu.cli._console import console
from tousu.connect import NotConfiguredError, database_url
from tousu.shared.settings import load_settings

# Whole lines: messages get copied and grepped.
err = console(stderr=True, soft_wrap=True)

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]{message}[/red]", markup=True, highlight=False)
    raise typer.Exit(code)


def with_database(
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    missing_table: str,
    unreachable: str = "database not reachable: {error}",
    code: int = 1,
) -> T:
    """Run ``work`` on a connection; a database that is not configured, not
    migrated (``missing_table``) or not reachable ends the command with ``code``."""

    async def go() -> T:
        conn = await asyncpg.connect(database_url(load_settings()), timeout=CONNECT_TIMEOUT)
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return run(go())
    except NotConfiguredError as exc:
        fail(str(exc), code)
    except asyncpg.UndefinedTableError:
        fail(missing_table, code)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        fail(unreachable.format(error=exc), code)
