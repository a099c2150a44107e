"""Where the database and NATS are: configured URLs first, else a running `tousu up`."""

from __future__ import annotations

from shared.settings import Settings
from tousu.runtime_state import read_state


class NotConfiguredError(RuntimeError):
    pass


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    state = read_state(settings.data_dir)
    if state is not None:
        return state.database_url
    raise NotConfiguredError(
        "no database configured: set TOUSU_DATABASE_URL or start `tousu up`"
        f" (looked for it under {settings.data_dir.resolve()})"
    )


def nats_url(settings: Settings) -> str:
    if settings.nats_url:
        return settings.nats_url
    state = read_state(settings.data_dir)
    if state is not None:
        return state.nats_url
    raise NotConfiguredError(
        "no NATS server configured: set TOUSU_NATS_URL or start `tousu up`"
        f" (looked for it under {settings.data_dir.resolve()})"
    )
