"""The embedded nats-server and PostgreSQL start for real, serve, stop, and keep data.

Runs the servers on spare ports under a temporary data dir, so it neither
needs nor disturbs any NATS/PostgreSQL already on the machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats
import pytest

from tousu.connect import database_url, nats_url
from tousu.embedded import pid_alive
from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import accepts_connections, free_port
from tousu.embedded.postgres import EmbeddedPostgres
from tousu.runtime_state import read_state, state_path
from tousu.shared.settings import Settings
from tousu.supervisor import ChildSpec, Supervisor

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Ports:
    nats: int
    monitor: int
    pg: int


@pytest.fixture
def ports() -> Ports:
    chosen: set[int] = set()
    while len(chosen) < 3:
        chosen.add(free_port())
    nats_port, monitor, pg = sorted(chosen)
    return Ports(nats_port, monitor, pg)


@pytest.fixture
def data_dir(tmp_path: Path, ports: Ports) -> Iterator[Path]:
    path = tmp_path / "var"
    yield path
    # Whatever happened in the test, nothing may keep running on this data dir.
    EmbeddedPostgres(path, ports.pg).stop()
    EmbeddedNats(path, ports.nats, ports.monitor).stop_leftover()


def _running(pid: int | None) -> bool:
    return pid is not None and pid_alive(pid)


def _start(data_dir: Path, ports: Ports) -> tuple[EmbeddedNats, EmbeddedPostgres]:
    nats_server = EmbeddedNats(data_dir, ports.nats, ports.monitor)
    began = time.monotonic()
    nats_server.start()
    print(f"nats-server ready in {time.monotonic() - began:.2f}s")
    postgres = EmbeddedPostgres(data_dir, ports.pg)
    began = time.monotonic()
    try:
        postgres.start()
    except BaseException:
        nats_server.stop()
        raise
    print(f"PostgreSQL ready in {time.monotonic() - began:.2f}s ({postgres.runner.description})")
    return nats_server, postgres


def _stop(nats_server: EmbeddedNats, postgres: EmbeddedPostgres, ports: Ports) -> None:
    pg_pid, nats_pid = postgres.pid, nats_server.pid
    postgres.stop()
    nats_server.stop()
    assert not _running(pg_pid) and not _running(nats_pid)
    assert not accepts_connections(ports.pg) and not accepts_connections(ports.nats)


@pytest.mark.embedded
async def test_servers_serve_and_keep_data_across_restart(data_dir: Path, ports: Ports) -> None:
    nats_server, postgres = _start(data_dir, ports)
    try:
        conn = await asyncpg.connect(postgres.url)
        try:
            assert await conn.fetchval("SELECT 1") == 1
            await conn.execute("CREATE TABLE smoke (id int PRIMARY KEY, note text NOT NULL)")
            await conn.execute("INSERT INTO smoke VALUES (1, '投诉已受理')")
        finally:
            await conn.close()
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            await js.add_stream(name="SMOKE", subjects=["smoke.>"])
            ack = await js.publish("smoke.hello", b"hello")
            assert ack.stream == "SMOKE" and ack.seq == 1
        finally:
            await nc.close()
    finally:
        _stop(nats_server, postgres, ports)

    nats_server, postgres = _start(data_dir, ports)
    try:
        conn = await asyncpg.connect(postgres.url)
        try:
            rows = await conn.fetch("SELECT id, note FROM smoke")
            assert [tuple(row) for row in rows] == [(1, "投诉已受理")]
        finally:
            await conn.close()
        nc = await nats.connect(nats_server.url)
        try:
            info = await nc.jetstream().stream_info("SMOKE")
            assert info.state.messages == 1
        finally:
            await nc.close()
    finally:
        _stop(nats_server, postgres, ports)


def _up_env(data_dir: Path, ports: Ports) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TOUSU_NATS_URL", "TOUSU_DATABASE_URL")}
    return env | {
        "TOUSU_DATA_DIR": str(data_dir),
        "TOUSU_EMBEDDED_NATS_PORT": str(ports.nats),
        "TOUSU_EMBEDDED_NATS_MONITOR_PORT": str(ports.monitor),
        "TOUSU_EMBEDDED_PG_PORT": str(ports.pg),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    }


def _output(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _open_to_others(root: Path) -> dict[str, str]:
    """Files and folders under ``root`` that others than the owner may read."""
    return {
        str(p): oct(stat.S_IMODE(p.lstat().st_mode))
        for p in [root, *root.rglob("*")]
        if (p.is_file() or p.is_dir()) and not p.is_symlink()
        if stat.S_IMODE(p.lstat().st_mode) & 0o077
    }


@pytest.mark.embedded
async def test_up_no_services_runs_servers_until_interrupted(
    tmp_path: Path, data_dir: Path, ports: Ports
) -> None:
    # A letter left world-readable by an earlier version.
    old_letter = data_dir / "letters" / "2026-01-02" / "TS1-acceptance.txt"
    old_letter.parent.mkdir(parents=True)
    old_letter.write_text("北京市朝阳区某路 1 号 张三 收")
    old_letter.chmod(0o644)
    output = tmp_path / "up.out"
    with output.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "tousu", "up", "--no-services"],
            cwd=REPO,
            env=_up_env(data_dir, ports),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        began = time.monotonic()
        state = read_state(data_dir)
        while state is None:
            assert proc.returncode is None, f"tousu up exited early:\n{_output(output)}"
            assert time.monotonic() - began < 30, f"no state file:\n{_output(output)}"
            await asyncio.sleep(0.1)
            state = read_state(data_dir)
        print(f"`tousu up --no-services` ready in {time.monotonic() - began:.2f}s")
        assert state.nats is not None and state.postgres is not None
        assert state.nats.port == ports.nats and state.postgres.port == ports.pg

        settings = Settings(data_dir=data_dir, nats_url=None, database_url=None)
        assert database_url(settings) == state.database_url
        assert nats_url(settings) == state.nats_url
        conn = await asyncpg.connect(state.database_url)
        try:
            assert await conn.fetchval("SELECT current_database()") == "tousu"
        finally:
            await conn.close()
        nc = await nats.connect(state.nats_url)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

        # Everything in the data folder is its owner's only: the old letter,
        # the embedded servers' data, the logs and the keys made now.
        assert await asyncio.to_thread(_open_to_others, data_dir) == {}

        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, _output(output)
        assert read_state(data_dir) is None and not state_path(data_dir).exists()
        assert not _running(state.nats.pid) and not _running(state.postgres.pid)
        assert not accepts_connections(ports.pg) and not accepts_connections(ports.nats)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def test_service_rejects_unknown_name() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tousu", "service", "nope"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "relay" in proc.stderr and "intake" in proc.stderr


async def test_supervisor_restarts_a_crashing_child_and_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tousu.supervisor.BACKOFF_FIRST", 0.05)
    pids: list[int | None] = []
    crash = ChildSpec("crash", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ),
                      tmp_path / "crash.log")  # fmt: skip
    stubborn = ChildSpec(
        "stubborn",
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
         " print('up', flush=True); time.sleep(60)"],
        dict(os.environ),
        tmp_path / "stubborn.log",
    )  # fmt: skip
    supervisor = Supervisor([crash, stubborn], lambda name, pid: pids.append(pid))
    await supervisor.start()
    try:
        deadline = time.monotonic() + 10
        while (tmp_path / "crash.log").read_text().count("starts crash (#") < 3:
            assert time.monotonic() < deadline, "crashing child was not restarted"
            await asyncio.sleep(0.05)
        while "up" not in (tmp_path / "stubborn.log").read_text().splitlines():
            assert time.monotonic() < deadline, "stubborn child did not start"
            await asyncio.sleep(0.05)
        stubborn_pid = supervisor.pids()["stubborn"]
    finally:
        await supervisor.stop(grace=0.5)
    assert stubborn_pid is not None and not _running(stubborn_pid)
    assert supervisor.pids() == {"crash": None, "stubborn": None}
