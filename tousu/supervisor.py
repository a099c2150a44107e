"""Child processes for `tousu up`: start, watch, restart with back-off, stop.

Each child runs in its own session so that a terminal Ctrl-C reaches only the
supervisor, which then stops children in order; and each dies with the
supervisor (Linux) so that a SIGKILLed `tousu up` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tousu.embedded import die_with_parent, log_tail
from tousu.shared.logs import get_logger

log = get_logger("tousu.supervisor")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
# A child that ran this long was healthy; its next crash starts back-off anew.
HEALTHY_AFTER = 30.0
# From this many crashes in a row on, each restart is reported as an error.
KEEPS_FAILING = 5
# Separates one run's output from the previous one's in a child's log file.
_MARKER = "--- tousu up starts "


def backoff(failures: int) -> float:
    """Delay before restart number ``failures`` (1, 2, 4, … capped at 30 s)."""
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    where: str = ""


@dataclass
class _Child:
    spec: ChildSpec
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    failures: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


PidListener = Callable[[str, int | None], None]


class Supervisor:
    def __init__(self, specs: Iterable[ChildSpec], on_pid: PidListener | None = None) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._on_pid = on_pid
        self._stopping = asyncio.Event()

    def pids(self) -> dict[str, int | None]:
        return {c.spec.name: _live_pid(c) for c in self._children}

    async def start(self) -> None:
        """Spawn every child once; crashes after this are handled in the background."""
        for child in self._children:
            await self._spawn(child)
        for child in self._children:
            child.task = asyncio.create_task(self._watch(child), name=f"watch-{child.spec.name}")

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every child, SIGKILL what is left after ``grace`` seconds."""
        self._stopping.set()
        for child in self._children:
            _signal(child, signal.SIGTERM)
        tasks = [c.task for c in self._children if c.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for child in self._children:
                if child.task in pending:
                    log.warning("child ignored SIGTERM; killing it", child=child.spec.name)
                    _signal(child, signal.SIGKILL)
            await asyncio.gather(*tasks, return_exceptions=True)
        for child in self._children:
            # Started but never watched (stop during start()).
            if child.proc is not None and child.proc.returncode is None:
                _signal(child, signal.SIGKILL)
                await child.proc.wait()

    async def _spawn(self, child: _Child) -> bool:
        spec = child.spec
        child.starts += 1
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with spec.log_path.open("ab") as out:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            out.write(f"{_MARKER}{spec.name} (#{child.starts}) at {stamp} ---\n".encode())
            out.flush()
            try:
                child.proc = await asyncio.create_subprocess_exec(
                    *spec.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=spec.env,
                    start_new_session=True,
                    preexec_fn=die_with_parent(),
                )
            except OSError as exc:
                child.proc = None
                log.error("could not start child", child=spec.name, error=str(exc))
                return False
        self._notify(child)
        return True

    async def _watch(self, child: _Child) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            code: int | None = None
            if child.proc is not None:
                code = await child.proc.wait()
            if self._stopping.is_set():
                self._notify(child)
                return
            uptime = loop.time() - started
            child.failures = 1 if uptime >= HEALTHY_AFTER else child.failures + 1
            delay = backoff(child.failures)
            self._report_exit(child, code, uptime, delay)
            self._notify(child)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                return
            except TimeoutError:
                pass
            await self._spawn(child)
            if self._stopping.is_set():
                _signal(child, signal.SIGTERM)

    def _report_exit(self, child: _Child, code: int | None, uptime: float, delay: float) -> None:
        fields = {
            "child": child.spec.name,
            "exit": _describe_exit(code),
            "uptime_s": round(uptime, 1),
            "restart_in_s": delay,
            "failures_in_a_row": child.failures,
            "log": str(child.spec.log_path),
        }
        if child.failures >= KEEPS_FAILING:
            log.error("child keeps failing; still retrying", **fields)
        else:
            log.warning("child exited; restarting", **fields)
        tail = _last_run_output(child.spec.log_path)
        if tail:
            log.info("last output", child=child.spec.name, output=tail)

    def _notify(self, child: _Child) -> None:
        if self._on_pid is not None:
            self._on_pid(child.spec.name, _live_pid(child))


def _live_pid(child: _Child) -> int | None:
    proc = child.proc
    return proc.pid if proc is not None and proc.returncode is None else None


def _signal(child: _Child, sig: signal.Signals) -> None:
    proc = child.proc
    if proc is None or proc.returncode is not None:
        return
    try:
        # The whole group: a service may have children of its own.
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _last_run_output(path: Path, lines: int = 5) -> str:
    text = log_tail(path, 200)
    _, _, last_run = text.rpartition(_MARKER)
    return "\n".join(last_run.splitlines()[1:][-lines:])


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not start"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass(frozen=True)
class Row:
    name: str
    pid: int | None
    where: str
    log: str


def print_table(console: Console, rows: Iterable[Row], title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("process", style="bold")
    table.add_column("pid", justify="right")
    table.add_column("where")
    table.add_column("log", overflow="fold")
    for row in rows:
        table.add_row(row.name, str(row.pid) if row.pid else "-", row.where or "-", row.log)
    console.print(table)
