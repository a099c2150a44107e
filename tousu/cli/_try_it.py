"""What `tousu demo seed` prints last: complaints to look up and how to sign in.

The seed creates no account anyone can sign in with (its handler accounts
have no password): an account with a printed or well-known password would
outlive the demo. Staff accounts that can sign in are listed; when there are
none, the exact `tousu users add` commands for a first operator, handler,
department head and supervisor are printed (each asks for its password).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from rich.console import Console
from rich.table import Table

from tousu.cli._console import add_columns
from tousu.demo.driver import Result
from tousu.shared.settings import Settings

# Rows of the tracking table: one complaint of each outcome, then no more.
SHOWN = 8


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    department: str | None


async def sign_in_accounts(pool: asyncpg.Pool) -> list[Account]:
    """Active staff accounts that have a password (argon2 hashes start with ``$``)."""
    rows = await pool.fetch(
        "SELECT username, role, department FROM users "
        "WHERE active AND password_hash LIKE '$%' ORDER BY role, username LIMIT 20"
    )
    return [Account(r["username"], r["role"], r["department"]) for r in rows]


def base_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
    return f"http://{host}:{settings.http_port}"


def tracking_table(results: Sequence[Result]) -> Table:
    """One seeded complaint of each outcome, with the access code it was given."""
    table = Table(title="可以查询的投诉 / complaints to look up", title_justify="left")
    add_columns(table, ("投诉编号", "查询码", "结果"), keys={"投诉编号", "查询码"})
    seen = set()
    for r in results:
        if r.error is None and r.tracking_no and r.case.outcome not in seen:
            seen.add(r.case.outcome)
            table.add_row(r.tracking_no, r.access_code or "—", r.case.outcome.label)
        if len(seen) == SHOWN:
            break
    return table


def first_accounts(results: Sequence[Result]) -> list[str]:
    """`tousu users add` commands for the first accounts, one per staff role."""
    # The department most of the seeded complaints went to: its handler has cases.
    departments = Counter(r.case.topic.department for r in results if r.case.topic)
    department = departments.most_common(1)[0][0] if departments else "service_center"
    return [
        "tousu users add op1 --role operator --name 话务员",
        f"tousu users add handler1 --role handler --department {department} --name 承办人",
        f"tousu users add head1 --role dept_head --department {department} --name 部门负责人",
        "tousu users add sup1 --role supervisor --name 督办员",
    ]


def show(
    out: Console, results: Sequence[Result], accounts: Sequence[Account], settings: Settings
) -> None:
    """Print what to try next on ``out``: URLs and commands as whole lines (the
    terminal wraps them if it must; a line break inside would break a copy)."""
    url = base_url(settings)
    out.print()
    out.print(f"公众查询 / public tracking: {url}/track", soft_wrap=True)
    out.print("（输入投诉编号和查询码 / enter a tracking number and its code）")
    out.print(tracking_table(results))
    out.print()
    out.print(f"工作人员登录 / staff sign-in: {url}/staff/login", soft_wrap=True)
    if accounts:
        table = Table(title="可登录的账号 / accounts", title_justify="left")
        add_columns(table, ("username", "role", "department"), keys={"username"})
        for a in accounts:
            table.add_row(a.username, a.role, a.department or "")
        out.print(table)
        return
    out.print("还没有可登录的账号。先建第一批账号（每条命令要求输入两次密码）：")
    out.print("No account can sign in yet; create the first ones (each asks for a password):")
    for command in first_accounts(results):
        out.print(f"  {command}", soft_wrap=True)
