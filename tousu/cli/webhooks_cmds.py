"""`tousu webhooks`: each department's webhook — add, list, remove — its
delivery log, and replaying from a point (docs/webhooks.md)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console, show
from tousu.cli._db import fail, with_database
from tousu.services.followup.webhooks import deliveries, endpoints
from tousu.shared.calendar import TZ

webhooks_app = typer.Typer(
    help="Department webhooks: the events of a department's cases, signed, to its own system.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")

out = console()
err = console(stderr=True, soft_wrap=True)

T = TypeVar("T")


def _with_db(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    return with_database(
        work, missing_table="the webhook tables are missing: run `tousu migrate` first"
    )


def _register_departments() -> frozenset[str] | None:
    from tousu.shared.intake.commitments import CommitmentRegister

    return frozenset(d.code for d in CommitmentRegister.load().departments)


@webhooks_app.command("add")
def add(
    department: Annotated[str, typer.Argument(help="Department code (of the register).")],
    url: Annotated[str, typer.Argument(help="Where its system receives the POSTs (http/https).")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Give a configured department a new URL and secret.")
    ] = False,
) -> None:
    """Deliver DEPARTMENT's case events to URL; prints the signing secret, once."""
    known = _register_departments()
    try:
        # Before reaching for the database: a wrong argument is a usage error.
        endpoints.check(department, url, known)
    except endpoints.InvalidWebhook as exc:
        fail(str(exc), code=2)

    async def work(conn: asyncpg.Connection) -> str:
        return await endpoints.add(conn, department, url, known=known, replace=replace)

    try:
        secret = _with_db(work)
    except endpoints.InvalidWebhook as exc:
        fail(str(exc))
    err.print(
        f"webhook for {department}: {url}\n"
        "its signing secret (shown this once; give it to the department's system):",
        highlight=False,
    )
    print(secret)


@webhooks_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Every department's webhook, with what waits and what was given up."""

    async def work(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        found = await endpoints.list_endpoints(conn)
        counts = {
            (r["department"], r["status"]): r["n"]
            for r in await conn.fetch(
                "SELECT department, status, count(*) AS n FROM webhook_deliveries "
                "GROUP BY department, status"
            )
        }
        return [
            {
                "department": e.department,
                "url": e.url,
                "active": e.active,
                "created": e.created_at.astimezone(TZ).isoformat(timespec="seconds"),
                "delivered": counts.get((e.department, "delivered"), 0),
                "waiting": sum(counts.get((e.department, s), 0) for s in deliveries.OPEN),
                "failed": counts.get((e.department, "failed"), 0),
            }
            for e in found
        ]

    rows = _with_db(work)
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        out.print("no webhooks yet: add one with `tousu webhooks add <department> <url>`")
        return
    table = Table(title=f"webhooks ({len(rows)})")
    add_columns(table, rows[0].keys(), keys={"department", "url", "created"})
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    show(out, table)


@webhooks_app.command("remove")
def remove(department: Annotated[str, typer.Argument(help="Department code.")]) -> None:
    """Stop delivering to DEPARTMENT (its log stays; what waits is kept, unsent)."""

    async def work(conn: asyncpg.Connection) -> bool:
        return await endpoints.remove(conn, department)

    if not _with_db(work):
        fail(f"{department} has no active webhook")
    out.print(f"webhook of {department} removed", highlight=False)


@webhooks_app.command("deliveries")
def deliveries_cmd(
    department: Annotated[str, typer.Argument(help="Department code.")],
    failed: Annotated[
        bool, typer.Option("--failed", help="Only what failed: given up, or being retried.")
    ] = False,
    limit: Annotated[int, typer.Option(help="The latest this many.", min=1)] = 50,
    attempts: Annotated[
        bool, typer.Option("--attempts", help="Each delivery's attempts, too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """DEPARTMENT's delivery log, in delivery order."""
    statuses = ("failed", "retrying") if failed else None

    async def work(conn: asyncpg.Connection) -> list[dict[str, Any]]:
        found = await deliveries.list_deliveries(conn, department, statuses=statuses, limit=limit)
        rows = []
        for d in found:
            row: dict[str, Any] = {
                "id": str(d.id),
                "position": d.position,
                "event": d.event_type,
                "tracking_no": d.tracking_no or "-",
                "status": d.status + (" (replay)" if d.replay else ""),
                "attempts": d.attempts,
                "last_code": d.last_status_code or "-",
                "last_error": d.last_error or "",
                "created": _local(d.created_at),
                "delivered": _local(d.delivered_at) if d.delivered_at else "-",
            }
            if attempts:
                row["tries"] = [
                    {**a, "started_at": _local(a["started_at"])}
                    for a in await deliveries.attempts_of(conn, d.id)
                ]
            rows.append(row)
        return rows

    rows = _with_db(work)
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return
    if not rows:
        what = "failed deliveries" if failed else "deliveries"
        out.print(f"no {what} for {department}", highlight=False)
        return
    table = Table(title=f"webhook deliveries of {department} ({len(rows)})")
    headers = [h for h in rows[0] if h != "tries"]
    add_columns(table, headers, keys={"id", "tracking_no", "created", "delivered"})
    for row in rows:
        table.add_row(*(str(row[h]) for h in headers))
        for t in row.get("tries", []):
            # Under the delivery: its code and error columns, how long it took.
            took = f"{t['duration_ms']:.0f} ms"
            error = f"{t['error']} ({took})" if t["error"] else took
            row_values = ["", "", f"try {t['attempt']}", "", "", "", str(t["status_code"] or "-")]
            table.add_row(*row_values, error, t["started_at"], "")
    show(out, table)


@webhooks_app.command("replay")
def replay(
    department: Annotated[str, typer.Argument(help="Department code.")],
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="A global position (its event and those after it) or an ISO time (events "
            "recorded at or after it; no offset: Asia/Shanghai).",
        ),
    ],
    include_imported: Annotated[
        bool,
        typer.Option(
            "--include-imported",
            help="Also send the events `tousu import` stored (an earlier system's history; "
            "left out by default, as they are when live).",
        ),
    ] = False,
) -> None:
    """Deliver DEPARTMENT's events again from a point, as new deliveries marked replay."""
    position: int | None = None
    since: datetime | None = None
    if start.isdigit():
        position = int(start)
    else:
        try:
            since = datetime.fromisoformat(start)
        except ValueError:
            fail(f"--from {start!r}: a global position or an ISO time", code=2)
        if since.tzinfo is None:
            since = since.replace(tzinfo=TZ)

    async def work(conn: asyncpg.Connection) -> deliveries.Replayed:
        if not await endpoints.is_active(conn, department):
            fail(f"{department} has no active webhook: `tousu webhooks add` first")
        return await deliveries.replay_report(
            conn,
            department,
            from_position=position,
            since=since,
            include_imported=include_imported,
        )

    found = _with_db(work)
    out.print(f"{found.queued} deliveries queued for {department} (replay)", highlight=False)
    if found.imported_left_out:
        out.print(
            f"{found.imported_left_out} events of imported history left out "
            "(--include-imported sends them)",
            highlight=False,
        )


def _local(value: datetime) -> str:
    return value.astimezone(TZ).isoformat(timespec="seconds")
