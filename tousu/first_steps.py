"""What a newcomer needs once the system runs: the address to open, and, while
no staff account can sign in, the `tousu users add` commands for the first
ones (as README.md gives them). `tousu up` prints it after start-up and
`tousu demo seed` at its end."""

from __future__ import annotations

import sys
from pathlib import Path

import asyncpg

from tousu.shared.settings import Settings

# One account of each staff role, as README.md's "The first accounts"; each
# command asks for the password twice.
FIRST_ACCOUNTS = (
    "users add op1    --role operator   --name 受理员",
    "users add zhao   --role handler    --department water --name 赵海",
    "users add head1  --role dept_head  --department water --name 部门负责人",
    "users add sup1   --role supervisor --name 督办员",
)


def base_url(settings: Settings) -> str:
    """Where the gateway answers, as a browser on this machine reaches it."""
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
    return f"http://{host}:{settings.http_port}"


def program() -> str:
    """How to call tousu again from here: `.venv/bin/tousu` under `make up`,
    else `tousu` (`python -m tousu`, or an installed wheel on the PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "tousu":
        return "tousu"
    try:
        return str(argv0.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(argv0)


def first_account_commands(department: str = "water") -> list[str]:
    """The `tousu users add` commands for a first account of each role; the
    handler and the department head in ``department``."""
    return [
        f"{program()} {line.replace('--department water', f'--department {department}')}"
        for line in FIRST_ACCOUNTS
    ]


async def accounts_that_sign_in(db: asyncpg.Pool | asyncpg.Connection) -> int:
    """Active staff accounts with a password (argon2 hashes start with ``$``)."""
    found = await db.fetchval("SELECT count(*) FROM users WHERE active AND password_hash LIKE '$%'")
    return int(found or 0)
