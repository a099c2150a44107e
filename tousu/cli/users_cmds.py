"""`tousu users`: staff accounts and their API tokens."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar, cast

import asyncpg
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console, key_column, show, text_column
from tousu.cli._db import fail, with_database
from tousu.services.gateway.auth import ROLES, StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.passwords import hash_password, password_problem
from tousu.services.gateway.auth.roles import ROLE_LABELS
from tousu.shared.calendar import TZ
from tousu.shared.settings import load_settings

users_app = typer.Typer(
    help="Staff accounts (工作人员账号) and their API tokens.", no_args_is_help=True
)
app.add_typer(users_app, name="users")

out = console()
err = console(stderr=True, soft_wrap=True)  # whole lines: messages get copied and grepped

T = TypeVar("T")


def _with_db(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    return with_database(
        work, missing_table="the users tables are missing: run `tousu migrate` first"
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # Only the line break a shell or `echo` adds; other whitespace is the password's.
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        fail(problem)
    return password


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (stored in lower case).")],
    role: Annotated[
        str | None,
        typer.Option(
            "--role", "-r", help=f"One of: {', '.join(ROLES)}. A service account's is handler."
        ),
    ] = None,
    department: Annotated[
        str | None,
        typer.Option("--department", "-d", help="Department code; handler and dept_head only."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Display name (default: the username).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    service: Annotated[
        bool,
        typer.Option(
            "--service",
            help="A department system's service account: acts as a handler of --department "
            "through the staff API with a long-lived token (`tousu users token`), has no "
            "password and cannot sign in on the web.",
        ),
    ] = False,
) -> None:
    """Create a staff account; the password is asked twice unless --password-stdin.

    With --service: a department system's account, no password asked.
    """
    username = repo.normalize_username(username)
    if service:
        if role not in (None, "handler"):
            fail(f"a service account acts as a department's handler, not a {role}", code=2)
        if password_stdin:
            fail("a service account has no password: leave out --password-stdin", code=2)
        role = "handler"
    elif role is None:
        fail("--role is needed (or --service for a department system's account)", code=2)
    try:
        # Before asking for a password: a typo in the role should not cost one.
        repo.check_new_user(username, role, department)
    except repo.InvalidUser as exc:
        fail(str(exc), code=2)
    password_hash = "" if service else hash_password(_read_password(password_stdin))
    valid_role = role

    async def create(conn: asyncpg.Connection) -> repo.User:
        return await repo.create_user(
            conn,
            username,
            role=cast(StaffRole, valid_role),
            department=department,
            display_name=name,
            password_hash=password_hash,
            service=service,
        )

    try:
        user = _with_db(create)
    except repo.UserExists as exc:
        fail(str(exc))
    where = f" in {user.department}" if user.department else ""
    kind = ", service account" if user.service else ""
    out.print(f"added {user.username} ({user.role}{where}{kind}), id {user.id}", highlight=False)
    if user.service:
        out.print(f"its API token: tousu users token {user.username}", highlight=False)


@users_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Every staff account."""
    users = _with_db(repo.list_users)
    if as_json:
        for user in users:
            print(json.dumps(user.as_dict(), ensure_ascii=False))
        return
    if not users:
        out.print("no users yet: add one with `tousu users add`")
        return
    table = Table(title=f"users ({len(users)})")
    columns = ("username", "name", "role", "department", "active", "tokens", "created")
    add_columns(table, columns, keys={"username"})
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            f"{u.role} {ROLE_LABELS[u.role]}"
            + (" · service account 系统账号" if u.service else ""),
            u.department or "-",
            "yes" if u.active else "[red]disabled[/red]",
            str(u.active_tokens),
            # Beijing time, as every other command shows a time.
            u.created_at.astimezone(TZ).isoformat(sep=" ", timespec="minutes"),
        )
    show(out, table)


async def _user_orfail(conn: asyncpg.Connection, username: str) -> repo.User:
    user = await repo.get_user(conn, username)
    if user is None:
        fail(f"no user {username!r}")
    return user


@users_app.command("token")
def token(
    username: Annotated[str, typer.Argument()],
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, max=3650, help="Lifetime (default TOUSU_TOKEN_DAYS, 30)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print id, token and expiry as JSON.")
    ] = False,
) -> None:
    """Issue an API token for USERNAME and print it, once: it is stored only as a hash.

    Standard output carries the token alone (TOKEN=$(tousu users token alice));
    its id and expiry go to standard error. A service account's lives
    TOUSU_SERVICE_TOKEN_DAYS (365) unless --days.
    """
    auth = load_settings().auth

    async def issue(conn: asyncpg.Connection) -> repo.IssuedToken:
        user = await _user_orfail(conn, username)
        if not user.active:
            fail(f"user {user.username!r} is disabled")
        default = auth.service_token_days if user.service else auth.token_days
        lifetime = timedelta(days=days or default)
        return await repo.issue_token(conn, user.id, name=name, lifetime=lifetime)

    issued = _with_db(issue)
    if as_json:
        print(
            json.dumps(
                {
                    "id": str(issued.id),
                    "token": issued.token,
                    "name": issued.name,
                    "expires_at": issued.expires_at.isoformat(),
                }
            )
        )
        return
    print(issued.token)
    expires = issued.expires_at.isoformat(timespec="seconds")
    err.print(
        f"token {issued.id} ({issued.name}) expires {expires}; it is shown only now",
        highlight=False,
    )


@users_app.command("tokens")
def tokens(username: Annotated[str, typer.Argument()]) -> None:
    """USERNAME's tokens (ids, for `tousu users revoke`), never the secrets."""

    async def find(conn: asyncpg.Connection) -> list[repo.TokenInfo]:
        user = await _user_orfail(conn, username)
        return await repo.list_tokens(conn, user.id)

    found = _with_db(find)
    table = Table(title=f"tokens of {repo.normalize_username(username)} ({len(found)})")
    for column in ("id", "name", "created", "expires", "last used", "revoked"):
        if column == "id":
            key_column(table, column)
        else:
            text_column(table, column)
    for t in found:
        table.add_row(
            str(t.id),
            t.name,
            t.created_at.isoformat(timespec="seconds"),
            t.expires_at.isoformat(timespec="seconds"),
            t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "-",
            t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "-",
        )
    out.print(table)


@users_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")]) -> None:
    """Revoke a token by its id (see `tousu users tokens`)."""
    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        fail(f"{token_id!r} is not a token id (a UUID)", code=2)
    result = _with_db(lambda conn: repo.revoke_token(conn, parsed))
    if result is None:
        fail(f"no token {parsed}")
    when = result.revoked_at.isoformat(timespec="seconds")
    out.print(f"token {parsed} {'was already revoked' if result.already else 'revoked'} at {when}")


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable an account: it cannot sign in, and its tokens are revoked."""
    revoked = _with_db(lambda conn: repo.disable_user(conn, username))
    if revoked is None:
        fail(f"no user {username!r}")
    out.print(f"disabled {repo.normalize_username(username)}; {revoked} token(s) revoked")
