"""`tousu open311 keys`: API keys of Open311 client applications."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import console, key_column, text_column
from tousu.cli._db import fail, with_database
from tousu.services.gateway.open311 import keys as repo

open311_app = typer.Typer(help="Open311 GeoReport v2 (/open311/v2/).", no_args_is_help=True)
keys_app = typer.Typer(
    help="API keys of Open311 clients: needed to post requests.", no_args_is_help=True
)
open311_app.add_typer(keys_app, name="keys")
app.add_typer(open311_app, name="open311")

out = console()
err = console(stderr=True, soft_wrap=True)

T = TypeVar("T")


def _with_db(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    return with_database(
        work, missing_table="the open311_keys table is missing: run `tousu migrate` first"
    )


@keys_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Who the key is for (an app, a partner).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print id, name and key as JSON.")
    ] = False,
) -> None:
    """Make a key and print it, once: it is stored only as a hash.

    Standard output carries the key alone (KEY=$(tousu open311 keys add app));
    the rest goes to standard error.
    """
    try:
        name = repo.check_name(name)
    except repo.InvalidKeyName as exc:
        fail(str(exc), code=2)
    try:
        issued = _with_db(lambda conn: repo.add_key(conn, name))
    except repo.KeyNameTaken as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps({"id": str(issued.id), "name": issued.name, "key": issued.key}))
        return
    print(issued.key)
    err.print(f"Open311 key {issued.name} ({issued.id}); it is shown only now", highlight=False)


@keys_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Every key (names and dates, never the secrets)."""
    found = _with_db(repo.list_keys)
    if as_json:
        for k in found:
            print(
                json.dumps(
                    {
                        "id": str(k.id),
                        "name": k.name,
                        "created_at": k.created_at.isoformat(),
                        "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    }
                )
            )
        return
    if not found:
        out.print("no Open311 keys yet: add one with `tousu open311 keys add <name>`")
        return
    table = Table(title=f"Open311 keys ({len(found)})")
    for column in ("name", "id", "created", "last used", "revoked"):
        if column == "id":
            key_column(table, column)
        else:
            text_column(table, column)
    for k in found:
        table.add_row(
            k.name,
            str(k.id),
            k.created_at.isoformat(timespec="seconds"),
            k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "-",
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "-",
        )
    out.print(table)


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument()]) -> None:
    """Revoke the key NAME: posting with it is refused from now on (403)."""
    result = _with_db(lambda conn: repo.revoke_key(conn, name))
    if result is None:
        fail(f"no Open311 key {name!r}")
    assert result.revoked_at is not None
    out.print(
        f"Open311 key {result.name} revoked at {result.revoked_at.isoformat(timespec='seconds')}"
    )
