"""`tousu inspection draw / show / verify`: the quality inspection's monthly
sample (定期检查/抽查, docs/quality-inspection.md)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._async import run
from tousu.cli._console import console
from tousu.cli._db import fail
from tousu.connect import NotConfiguredError, database_url, nats_url
from tousu.services.metrics.inspection.views import SampleRow, sample
from tousu.shared.events import Actor

inspection_app = typer.Typer(
    help="Quality inspection (质量检查/抽查): draw a month's sample, show it, verify it.",
    no_args_is_help=True,
)
app.add_typer(inspection_app, name="inspection")

out = console()
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
_TIMEOUT = 30.0

Month = Annotated[str, typer.Argument(help="The month, YYYY-MM (Asia/Shanghai).")]


def _month(month: str) -> str:
    if not re.match(MONTH, month):
        raise typer.BadParameter("a month is YYYY-MM, e.g. 2026-11", param_hint="MONTH")
    return month


async def _actor(pool: asyncpg.Pool | asyncpg.Connection, username: str) -> Actor:
    """Who the draw is recorded as: an active supervisor or administrator account."""
    row = await pool.fetchrow("SELECT role, active FROM users WHERE username = $1", username)
    if row is None or row["role"] not in ("supervisor", "admin") or not row["active"]:
        raise PermissionError(
            f"{username!r} is not an active supervisor or administrator account"
            " (tousu users add NAME --role supervisor)"
        )
    return Actor(id=username, role=row["role"])


async def _draw(
    month: str, username: str, seed: int | None, share: float | None, minimum: int | None
) -> dict[str, Any]:
    from tousu.shared.application.credentials import signed_connect
    from tousu.shared.settings import load_settings

    settings = load_settings()
    conn = await asyncpg.connect(database_url(settings), timeout=5)
    try:
        actor = await _actor(conn, username)
    finally:
        await conn.close()
    body: dict[str, Any] = {"actor": actor.model_dump(), "period": month}
    for name, value in (("seed", seed), ("share", share), ("minimum", minimum)):
        if value is not None:
            body[name] = value
    client = await signed_connect(
        settings, nats_url(settings), "tousu-cli", sender="cli", max_reconnect_attempts=1
    )
    try:
        reply = await client.request(
            settings.naming.command("metrics", "inspection-draw"),
            json.dumps(body).encode(),
            timeout=_TIMEOUT,
        )
    finally:
        await client.close()
    answer: dict[str, Any] = json.loads(reply.data)
    return answer


@inspection_app.command()
def draw(
    month: Month,
    as_user: Annotated[
        str, typer.Option("--as", help="The supervisor or administrator drawing it.")
    ],
    seed: Annotated[
        int | None, typer.Option(help="The seed (default: a fresh random one, recorded).")
    ] = None,
    share: Annotated[
        float | None, typer.Option(help="Share of each department's closed cases (0-1].")
    ] = None,
    minimum: Annotated[int | None, typer.Option(help="Fewest cases per department.")] = None,
) -> None:
    """Draw MONTH's sample (once a month; needs the metrics service running)."""
    month = _month(month)
    try:
        reply = run(_draw(month, as_user, seed, share, minimum))
    except (NotConfiguredError, PermissionError) as exc:
        fail(str(exc))
    except Exception as exc:  # NATS unreachable or no metrics service: say so, no traceback
        fail(f"the metrics service could not be asked: {exc!r}")
    if not reply.get("ok"):
        error = reply.get("error") or {}
        detail = error.get("details")
        where = (
            f" ({detail.get('field')})" if isinstance(detail, dict) and "field" in detail else ""
        )
        fail(f"refused: {error.get('code')}{where}: {error.get('message')}")
    result = reply["result"]
    out.print(
        f"{month}: {len(result['cases'])} cases drawn from "
        f"{sum(result['population'].values())} closed; seed {result['seed']}, "
        f"share {result['share']:g}, minimum {result['minimum']}, "
        f"checklist v{result['checklist_version']}",
        highlight=False,
    )
    out.print(f"event {result['event_id']}", highlight=False)


async def _show(month: str) -> tuple[list[SampleRow], dict[str, Any] | None]:
    from tousu.shared.domain.inspection import replay, stream_of
    from tousu.shared.settings import load_settings
    from tousu.shared.store.postgres import PostgresEventStore

    store = await PostgresEventStore.connect(database_url(load_settings()), min_size=1, max_size=1)
    try:
        rows = await sample(store.pool, month)
        history = await store.read_stream(stream_of(month))
    finally:
        await store.close()
    state = replay(history)
    if state.drawn is None:
        return rows, None
    head = history[0]
    return rows, {
        "seed": state.drawn.seed,
        "share": state.drawn.share,
        "minimum": state.drawn.minimum,
        "checklist_version": state.drawn.checklist_version,
        "population": state.drawn.population,
        "event_id": str(head.event_id),
        "drawn_at": head.recorded_at,
        "drawn_by": head.actor.id,
    }


_REASONS = {"random": "random", "reopened": "reopened", "late_entry": "late"}


@inspection_app.command()
def show(month: Month) -> None:
    """MONTH's sample: seed, cases with why each is in, reviews and scores."""
    month = _month(month)
    try:
        rows, drawn = run(_show(month))
    except NotConfiguredError as exc:
        fail(str(exc))
    if drawn is None:
        fail(f"no sample has been drawn for {month} (tousu inspection draw {month})")
    population = ", ".join(f"{d} {n}" for d, n in sorted(drawn["population"].items()))
    out.print(
        f"{month}: seed {drawn['seed']}, share {drawn['share']:g}, minimum {drawn['minimum']},"
        f" checklist v{drawn['checklist_version']}",
        highlight=False,
    )
    out.print(
        f"drawn {drawn['drawn_at']:%Y-%m-%d %H:%M} UTC by {drawn['drawn_by']}", highlight=False
    )
    out.print(f"event {drawn['event_id']}", highlight=False)
    out.print(f"closed: {population or 'none'}", highlight=False)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("dept", "case", "why", "score", "result"):
        table.add_column(column, overflow="fold")
    reviewed = 0
    for row in rows:
        why = ",".join(_REASONS.get(r, r) for r in row.reasons)
        if row.reviewed:
            reviewed += 1
            verdict = "pass" if row.passed else "FAIL"
            if row.action and row.action != "none":
                verdict += f" {row.action}"
            score = f"{row.score:g}"
        else:
            verdict, score = "-", "-"
        table.add_row(row.department, row.tracking_no or row.complaint_id, why, score, verdict)
    out.print(table)
    out.print(f"{reviewed} of {len(rows)} reviewed", highlight=False)
    for row in rows:
        if row.reviewed:
            out.print(
                f"  {row.tracking_no or row.complaint_id}: review {row.review_event_id}"
                f" by {row.reviewer}",
                highlight=False,
                soft_wrap=True,
            )


@inspection_app.command()
def verify(month: Month) -> None:
    """Draw MONTH again from its recorded seed and say whether the sample is the same."""
    month = _month(month)

    async def go() -> Any:
        from tousu.services.metrics.inspection.verify import verify as redraw
        from tousu.shared.settings import load_settings
        from tousu.shared.store.postgres import PostgresEventStore

        store = await PostgresEventStore.connect(
            database_url(load_settings()), min_size=1, max_size=1
        )
        try:
            return await redraw(store, month)
        finally:
            await store.close()

    try:
        result = run(go())
    except (NotConfiguredError, LookupError) as exc:
        fail(str(exc))
    if result.same:
        out.print(
            f"{month}: the same sample ({len(result.recorded)} cases) from seed {result.seed}",
            highlight=False,
        )
        return
    out.print(f"{month}: NOT the same sample from seed {result.seed}", highlight=False)
    for case in result.missing:
        out.print(f"  recorded, not redrawn: {case}", highlight=False)
    for case in result.extra:
        out.print(f"  redrawn, not recorded: {case}", highlight=False)
    if result.recorded_population != result.redrawn_population:
        out.print(
            f"  population then {result.recorded_population}, now {result.redrawn_population}",
            highlight=False,
        )
    raise typer.Exit(2)
