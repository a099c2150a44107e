"""`tousu up` tells a newcomer what to do next: once everything has started,
the address to open and, while no staff account can sign in, the exact
`tousu users add` commands for the first accounts (README.md's); with an
account that can sign in, no such advice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.helpers import REPO, eventually
from tests.web_kit import add_user
from tousu.embedded.ports import free_port
from tousu.first_steps import FIRST_ACCOUNTS

# Logged once the accounts are counted, after what a newcomer is told.
COUNTED = "staff accounts that can sign in"


async def up(env: dict[str, str], output: Path, *args: str) -> str:
    """`tousu up ARGS` until it has said what comes after start-up; its output."""

    def said() -> str:
        return output.read_text(encoding="utf-8")

    with output.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "tousu", "up", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def started() -> bool:
            assert proc.returncode is None, said()
            return "Ctrl-C stops everything." in said()

        await eventually(started, "tousu up to start", timeout=120)
        await eventually(lambda: COUNTED in said(), "the accounts counted")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 60) == 0, said()
    return said()


async def test_up_says_where_to_open_it_and_how_to_make_the_first_accounts(
    child_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = child_env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "0.0.0.0"}
    said = await up(env, tmp_path / "first.out", "--only", "gateway")
    assert f"Open http://127.0.0.1:{port}/ in a browser." in said
    assert "No staff account can sign in yet" in said
    for line in FIRST_ACCOUNTS:
        assert f"tousu {line}" in said, said  # as README.md writes them
    readme = (REPO / "README.md").read_text()
    assert all(f"tousu {line}" in readme for line in FIRST_ACCOUNTS)

    # Once someone can sign in, no advice (and no gateway, no address).
    conn = await asyncpg.connect(database_url)
    try:
        await add_user(conn, "op-li", "operator")
    finally:
        await conn.close()
    said = await up(env, tmp_path / "again.out", "--no-services")
    assert "users add" not in said and "Open http" not in said
