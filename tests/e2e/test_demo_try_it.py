"""What `tousu demo seed` ends with — complaints to look up with their access
codes, how to sign in — and CLI output piped into a file: nothing cut short."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx

from tests.helpers import REPO, tousu
from tousu.shared.store.postgres import PostgresEventStore

# A row of the "try it" table: a tracking number, its access code.
TRY_ROW = re.compile(r"│ (TS\d{4}-\d{5}-\d{5}) +│ ([2-9A-Z]{8}) +│")


async def piped(env: dict[str, str], *args: str, columns: int = 40, check: bool = True) -> str:
    """``tousu`` with stdout a pipe (not a terminal) and a narrow COLUMNS: the
    way a table reaches a file or ``grep``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tousu",
        *args,
        env=env | {"COLUMNS": str(columns)},
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0 or not check, out.decode() + err.decode()
    return out.decode()


async def test_seed_ends_with_complaints_to_look_up_and_how_to_sign_in(
    running_services: Path,
    store: PostgresEventStore,
    child_env: dict[str, str],
    gateway: httpx.AsyncClient,
) -> None:
    # Whether every lifecycle ends is tests/e2e/test_demo_seed.py's business;
    # the complaints that did are listed.
    out = await piped(child_env, "demo", "seed", "--n", "8", "--seed", "5", check=False)
    # Whole tracking numbers and codes although piped into 40 columns, and
    # each code opens its complaint on the public API.
    tried = TRY_ROW.findall(out)
    assert len(tried) >= 2, out
    for tracking_no, access_code in tried:
        looked_up = await gateway.get(
            f"/api/v1/public/complaints/{tracking_no}", params={"code": access_code}
        )
        assert looked_up.status_code == 200, (tracking_no, looked_up.text)
    assert "/track" in out and "/staff/login" in out
    # No account can sign in yet (the demo's handlers have no password): the
    # commands that create the first ones.
    assert "tousu users add op1 --role operator" in out, out
    assert "--role supervisor" in out and "--role dept_head" in out

    code, _, err = await tousu(
        child_env,
        "users",
        "add",
        "op1",
        "--role",
        "operator",
        "--password-stdin",
        stdin="demo-Password-1234",
    )
    assert code == 0, err
    again = await piped(child_env, "demo", "seed", "--n", "1", "--seed", "6", check=False)
    assert re.search(r"│ op1 +│ operator", again), again
    assert "tousu users add" not in again


async def test_events_tail_piped_keeps_every_line_whole(
    running_services: Path, store: PostgresEventStore, child_env: dict[str, str]
) -> None:
    await piped(child_env, "demo", "seed", "--n", "2", "--seed", "3", check=False)
    out = await piped(child_env, "events", "tail", "--no-follow")
    lines = out.splitlines()
    # One line an event, none wrapped, every stream id whole on its line.
    assert len(lines) == await store.pool.fetchval("SELECT count(*) FROM events"), out
    streams = await store.pool.fetch("SELECT DISTINCT stream_id FROM events")
    for row in streams:
        assert any(f" {row['stream_id']} v" in line for line in lines), (row, out)
    # and each complaint's tracking number, whole, on its ComplaintReceived line.
    received = await store.pool.fetch(
        "SELECT data ->> 'tracking_no' AS no FROM events WHERE type = 'ComplaintReceived'"
    )
    assert received
    for row in received:
        assert any(f" {row['no']} " in line for line in lines), (row, out)
