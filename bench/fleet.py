"""tousu's processes for a benchmark: each service and the relay on its own,
started, waited for, measured (CPU seconds) and stopped."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]
from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from tousu.shared.naming import Naming

STARTUP_TIMEOUT = 90.0


@dataclass
class Fleet:
    """Processes named ``<service>`` or ``<service>-<n>`` for replicas."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, service: str, replicas: int = 1) -> None:
        for n in range(1, replicas + 1):
            name = service if replicas == 1 else f"{service}-{n}"
            # A file, not a pipe: a chatty child must never block on a full pipe.
            with (self.logs / f"{name}.log").open("ab") as log:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "tousu", "service", service],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    async def wait_until_answering(
        self, nc: NatsClient, naming: Naming, services: list[str]
    ) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for service in services:
            while True:
                self._check_alive()
                try:
                    await nc.request(naming.command(service, "ping"), b"{}", timeout=1.0)
                    break
                except (NoRespondersError, NatsTimeout):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)

    async def wait_until_ready(self, base_url: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
            while True:
                self._check_alive()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the gateway at {base_url} never became ready")
                await asyncio.sleep(0.1)

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU seconds each process has used so far (threads included)."""
        out: dict[str, float] = {}
        for name, proc in self.processes.items():
            try:
                times = psutil.Process(proc.pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[name] = times.user + times.system
        return out

    def profile(self, folder: Path, label: str, seconds: float) -> list[subprocess.Popen[bytes]]:
        """py-spy on each process for ``seconds``: ``folder/<label>-<process>.txt``."""
        return start_profilers(
            {name: proc.pid for name, proc in self.processes.items()}, folder, label, seconds
        )

    async def wait_quiet(self, *, busy_ms_per_s: float = 30.0, timeout: float = 60.0) -> float:
        """Wait until the processes together use less than ``busy_ms_per_s`` of CPU
        over a second (what a load left behind — notices to send, projections to
        catch up — is done), at most ``timeout`` seconds; the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = sum(self.cpu_seconds().values())
            await asyncio.sleep(1.0)  # the measured second itself
            if 1000 * (sum(self.cpu_seconds().values()) - before) < busy_ms_per_s:
                break
        return round(time.monotonic() - started, 1)

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")
                raise RuntimeError(f"{name} exited ({proc.returncode}): {tail[-2000:]}")


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 2) for name in after}


def logged_errors(logs: Path, keep: int = 5) -> dict[str, Any]:
    """Error lines the processes logged (JSON lines), to report beside the figures."""
    count, first = 0, list[str]()
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                count += 1
                if len(first) < keep:
                    first.append(f"{path.stem}: {entry.get('event')} {entry.get('error', '')}")
    return {"count": count, "first": first}


async def backend_cpu_seconds(database_url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database_url``'s database,
    by pid: the store's share of the work, which the services' own CPU leaves
    out. Empty when the server is not on this machine (its pids are not ours)."""
    conn = await asyncpg.connect(database_url)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    out: dict[int, float] = {}
    for row in pids:
        try:
            times = psutil.Process(row["pid"]).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out[row["pid"]] = times.user + times.system
    return out


def backend_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    # A backend started in the window counts from its start.
    return round(sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()), 2)


def find_py_spy() -> str | None:
    """py-spy beside the interpreter (an unactivated venv), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def start_profilers(
    pids: dict[str, int], folder: Path, label: str, seconds: float
) -> list[subprocess.Popen[bytes]]:
    """``py-spy record --gil --nonblocking --format raw`` on each pid for ``seconds``
    (whole seconds, at least one), writing ``folder/<label>-<name>.txt``."""
    py_spy = find_py_spy()
    if py_spy is None:
        return []
    out = []
    for name, pid in pids.items():
        argv = [
            py_spy, "record", "--gil", "--nonblocking", "--format", "raw",
            "--pid", str(pid), "--duration", str(max(1, round(seconds))),
            "-o", str(folder / f"{label}-{name}.txt"),
        ]  # fmt: skip
        out.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return out


async def wait_for_profilers(profilers: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Waits for the profilers to write their files; stops any still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    for proc in profilers:
        try:
            await asyncio.to_thread(proc.wait, max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
            try:
                await asyncio.to_thread(proc.wait, 5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
