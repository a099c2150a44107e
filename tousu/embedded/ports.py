"""Loopback port picking and waiting for a server to listen."""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"


def is_port_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR mirrors what servers do, so a port in TIME_WAIT after our
        # own restart still counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel considers free right now (another process may still race us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def choose_port(preferred: int, *, explicit: bool, what: str, host: str = LOOPBACK) -> int:
    """``preferred`` if free; a spare port if the *default* is busy.

    An explicitly configured port that is busy is an error: silently moving
    would surprise whoever configured it.
    """
    if is_port_free(preferred, host):
        return preferred
    if explicit:
        raise PortBusyError(f"{what}: port {preferred} on {host} is already in use")
    return free_port(host)


def accepts_connections(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until_closed(port: int, deadline: float, host: str = LOOPBACK) -> bool:
    """Poll until nothing accepts on ``port`` or ``deadline`` (monotonic) passes."""
    while accepts_connections(port, host):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


class PortBusyError(RuntimeError):
    pass
