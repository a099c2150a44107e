"""``<data_dir>/run/state.json``: what a running `tousu up` started and where.

Other commands read it to find the embedded servers; it only counts while the
`tousu up` process that wrote it is alive.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from tousu.embedded import pid_alive


class ServerState(BaseModel):
    pid: int | None
    url: str
    port: int
    log: str
    monitor_url: str | None = None


class ServiceState(BaseModel):
    pid: int | None
    log: str


class RuntimeState(BaseModel):
    pid: int = Field(description="the `tousu up` process")
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data_dir: str
    nats_url: str
    database_url: str
    # None when the server was configured by URL rather than started embedded.
    nats: ServerState | None = None
    postgres: ServerState | None = None
    services: dict[str, ServiceState] = Field(default_factory=dict)


def state_path(data_dir: Path) -> Path:
    return data_dir.resolve() / "run" / "state.json"


def write_state(data_dir: Path, state: RuntimeState) -> Path:
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    # 0600: the URLs may carry passwords of configured servers.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(state.model_dump_json(indent=2))
    # Readers never see a half-written file.
    tmp.replace(path)
    return path


def read_state(data_dir: Path) -> RuntimeState | None:
    """The state of a live `tousu up`, or None (none ever ran, or it died)."""
    try:
        text = state_path(data_dir).read_text(encoding="utf-8")
        state = RuntimeState.model_validate_json(text)
    except (OSError, ValueError):
        return None
    return state if pid_alive(state.pid) else None


def remove_state(data_dir: Path) -> None:
    state_path(data_dir).unlink(missing_ok=True)
