"""Where the database and NATS are: configured URLs first, else a running `tousu up`."""

from __future__ import annotations

from collections.abc import Callable

from tousu.runtime_state import RuntimeState, read_state
from tousu.shared.settings import Settings


class NotConfiguredError(RuntimeError):
    pass


def database_url(settings: Settings) -> str:
    return settings.database_url or _from_running_up(
        settings, lambda s: s.database_url, "database", "TOUSU_DATABASE_URL"
    )


def nats_url(settings: Settings) -> str:
    return settings.nats_url or _from_running_up(
        settings, lambda s: s.nats_url, "NATS server", "TOUSU_NATS_URL"
    )


def _from_running_up(
    settings: Settings, pick: Callable[[RuntimeState], str], what: str, variable: str
) -> str:
    state = read_state(settings.data_dir)
    if state is not None:
        return pick(state)
    raise NotConfiguredError(
        f"no {what} configured: set {variable} or start `tousu up`"
        f" (looked for it under {settings.data_dir.resolve()})"
    )
