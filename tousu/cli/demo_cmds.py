"""`tousu demo seed`: realistic demo complaints, submitted and handled by the
services' own code in this process, on the store of the running system
(`tousu up`), whose services route, project and notify them (tousu/demo/driver.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import asyncpg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console
from tousu.cli._try_it import Account, sign_in_accounts
from tousu.cli._try_it import show as show_try_it
from tousu.connect import NotConfiguredError, database_url
from tousu.demo.driver import DEMO_LATE_ENTRIES, Driver, Result
from tousu.demo.plan import Outcome, plan
from tousu.services.intake.intake import Intake
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.events import utcnow
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

demo_app = typer.Typer(help="演示数据：生成投诉并走完各种办理流程。", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
out = console()
err = console(stderr=True)

# Cases driven at once: enough to be quick, few enough not to swamp a laptop.
CONCURRENCY = 4


async def _seed(n: int, seed: int, timeout: float) -> tuple[list[Result], list[Account]]:
    settings = Settings()
    cases = plan(n, seed, utcnow())
    url = database_url(settings)
    # One pool for the commands and the demo's own queries, and the context's
    # listening connection (calendar and staff changes).
    store = await PostgresEventStore.connect(url, min_size=1, max_size=CONCURRENCY)
    pool = store.pool
    # The deployment's limits, notice texts and references, with the demo's
    # own late-entry windows (driver.DEMO_LATE_ENTRIES): its history is made up.
    context = replace(ContextSource.for_settings(settings), late_entries=DEMO_LATE_ENTRIES)
    try:
        await Driver.add_staff(pool)
        await context.start(url)  # after: the claims check the accounts just made
        executor = CommandExecutor(store, context)
        desk = Intake(
            store, executor, access_code_key=access_code_key(settings), render=context.render
        )
        driver = Driver(desk, executor, pool, timeout=timeout)
        gate = asyncio.Semaphore(CONCURRENCY)
        columns = (
            TextColumn("[bold]生成演示投诉"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("seed", total=len(cases))

            async def one(i: int) -> Result:
                async with gate:
                    result = await driver.drive(cases[i], seed * 100_003 + i)
                progress.advance(task)
                return result

            results = list(await asyncio.gather(*(one(i) for i in range(len(cases)))))
        return results, await sign_in_accounts(pool)
    finally:
        await context.stop()
        await store.close()


def _summary(results: list[Result]) -> Table:
    done = Counter(r.case.outcome for r in results if r.error is None)
    failed = Counter(r.case.outcome for r in results if r.error is not None)
    table = Table(title="演示投诉", title_justify="left")
    for column in ("结果", "件数", "失败"):
        table.add_column(column, justify="right" if column != "结果" else "left")
    for outcome in Outcome:
        if done[outcome] or failed[outcome]:
            table.add_row(outcome.label, str(done[outcome]), str(failed[outcome] or ""))
    table.add_row("[bold]合计", f"[bold]{sum(done.values())}", str(sum(failed.values()) or ""))
    return table


@demo_app.command("seed")
def seed_cmd(
    n: int = typer.Option(50, "--n", min=1, max=10_000, help="How many complaints."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed, the same complaints."),
    timeout: float = typer.Option(30.0, help="Seconds to wait for a reply or for routing."),
) -> None:
    """Submit N demo complaints through intake and drive them through varied lifecycles."""
    try:
        results, accounts = run(_seed(n, seed, timeout))
    except NotConfiguredError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except (OSError, asyncpg.PostgresError) as exc:
        err.print(f"[red]cannot reach PostgreSQL: {exc}[/red]")
        raise typer.Exit(1) from None
    out.print(_summary(results))
    # What to try next: complaints to look up, and how to sign in.
    show_try_it(out, results, accounts, Settings())
    failures = [r for r in results if r.error is not None]
    for r in failures[:10]:
        err.print(f"[red]#{r.case.index} {r.case.outcome.label} {r.tracking_no or ''}: {r.error}")
    if failures:
        raise typer.Exit(1)
