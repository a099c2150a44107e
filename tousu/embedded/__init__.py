"""Embedded nats-server and PostgreSQL for `tousu up` when no URLs are configured.

Ports come from ``TOUSU_EMBEDDED_NATS_PORT`` (default 14222),
``TOUSU_EMBEDDED_NATS_MONITOR_PORT`` (18222) and ``TOUSU_EMBEDDED_PG_PORT``
(15432). The defaults deliberately avoid 4222/5432, which a system NATS or
PostgreSQL often holds; if a *default* port is busy a spare one is used (the
runtime state file records it), while a busy *configured* port is an error.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path


class EmbeddedError(RuntimeError):
    """An embedded server could not be started or stopped; the message says why."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # An exited process whose parent has not reaped it still answers kill(0);
    # in containers whose pid 1 never reaps, that can last forever.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes a child get SIGTERM when its parent dies.

    Without it a SIGKILLed `tousu up` would leave servers and services running
    and holding ports. Linux only; elsewhere ``None`` (no preexec_fn).
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl

    def _preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return _preexec
