"""`tousu up` (servers + every service, supervised) and `tousu service <name>`."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from rich.console import Console

from tousu.cli import app
from tousu.cli._async import run
from tousu.connect import NotConfiguredError, database_url, nats_url
from tousu.database import prepare_database as migrate
from tousu.embedded import EmbeddedError
from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import PortBusyError, choose_port
from tousu.embedded.postgres import EmbeddedPostgres
from tousu.first_steps import accounts_that_sign_in, base_url, first_account_commands
from tousu.runtime_state import (
    RuntimeState,
    ServerState,
    ServiceState,
    read_state,
    remove_state,
    state_path,
    write_state,
)
from tousu.services import SERVICES
from tousu.shared.logs import configure_logging, get_logger
from tousu.shared.private_files import tighten
from tousu.shared.settings import EmbeddedSection, Settings, load_settings
from tousu.shared.tasks import run_until
from tousu.supervisor import ChildSpec, Row, Supervisor, print_table

log = get_logger("tousu.up")

PROCESSES: tuple[str, ...] = ("relay", *SERVICES)
# name -> (module, attribute) of `async def run(settings: Settings) -> None`.
_ENTRY_POINTS: dict[str, tuple[str, str]] = {
    "relay": ("tousu.services.relay.main", "run"),
    **{name: (f"tousu.services.{name}.main", "run") for name in SERVICES},
}


@app.command()
def up(
    only: str | None = typer.Option(
        None, "--only", metavar="NAMES", help=f"Comma-separated subset of: {', '.join(PROCESSES)}."
    ),
    no_services: bool = typer.Option(
        False, "--no-services", help="Start only NATS and PostgreSQL (and migrate)."
    ),
) -> None:
    """Start everything: embedded NATS/PostgreSQL where no URL is set, then each service."""
    if only is not None and no_services:
        raise typer.BadParameter("--only and --no-services exclude each other")
    names = [] if no_services else _select(only)
    settings = load_settings()
    configure_logging("up", settings.log_level, settings.log_format)
    raise typer.Exit(run(_Up(settings, names).run()))


@app.command()
def service(name: str = typer.Argument(..., help=f"One of: {', '.join(PROCESSES)}.")) -> None:
    """Run one service in the foreground (what `tousu up` starts for each)."""
    if name not in _ENTRY_POINTS:
        typer.echo(f"unknown service {name!r}; valid names: {', '.join(PROCESSES)}", err=True)
        raise typer.Exit(2)
    settings = load_settings()
    configure_logging(name, settings.log_level, settings.log_format)
    try:
        settings = settings.model_copy(
            update={"nats_url": nats_url(settings), "database_url": database_url(settings)}
        )
    except NotConfiguredError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    entry = _load_entry_point(name)
    raise typer.Exit(run(_run_service(entry, settings)))


def _select(only: str | None) -> list[str]:
    if only is None:
        return list(PROCESSES)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROCESSES]
    if unknown or not names:
        raise typer.BadParameter(
            f"unknown service(s) {', '.join(unknown) or '(none given)'}; "
            f"valid names: {', '.join(PROCESSES)}",
            param_hint="--only",
        )
    return [n for n in PROCESSES if n in names]


def _load_entry_point(name: str) -> Callable[[Settings], Awaitable[None]]:
    module_name, attr = _ENTRY_POINTS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the entry module (or its package) missing is "not there";
        # a broken import inside it must surface as the error it is.
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        typer.echo(f"service {name!r} is not available: no module {module_name}", err=True)
        raise typer.Exit(1) from None
    entry = getattr(module, attr, None)
    if entry is None or not inspect.iscoroutinefunction(entry):
        typer.echo(f"service {name!r}: {module_name}.{attr} is not an async function", err=True)
        raise typer.Exit(1)
    return entry  # type: ignore[no-any-return]


async def _run_service(entry: Callable[[Settings], Awaitable[None]], settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # SIGTERM (from `tousu up`) and Ctrl-C both cancel the service, so its
    # `finally` blocks close connections instead of the process just dying.
    # Cancelled again until it has ended: Python 3.11's wait_for (inside
    # asyncpg and nats-py) can swallow a cancellation, which once left a
    # relay signalled while it was connecting running on.
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        # Returning without our signal is the usual stop too: FastStream and
        # the relay take SIGTERM over once running. An exit nobody asked for
        # is reported by `tousu up` ("child exited; restarting").
        await run_until(entry(settings), stop)
        log.info("service stopped")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0


class _Up:
    """One `tousu up` run: servers, migrations, state file, children, and the way back down."""

    def __init__(self, settings: Settings, names: list[str]) -> None:
        self.settings = settings
        self.names = names
        self.data_dir = settings.data_dir.resolve()
        # Unlimited width when piped (to a log file): wrapped paths are unreadable.
        self.console = Console(width=None if sys.stdout.isatty() else 200)
        self.stop_requested = asyncio.Event()
        self.nats: EmbeddedNats | None = None
        self.pg: EmbeddedPostgres | None = None
        self.supervisor: Supervisor | None = None
        self.state: RuntimeState | None = None
        self.specs: list[ChildSpec] = []

    async def run(self) -> int:
        running = read_state(self.data_dir)
        if running is not None:
            self.console.print(
                f"[red]tousu up is already running (pid {running.pid}) for {self.data_dir}[/red]"
            )
            return 1
        self._install_signal_handlers()
        try:
            return await self._run()
        except (EmbeddedError, PortBusyError) as exc:
            self.console.print(f"[red]{exc}[/red]")
            return 1
        finally:
            await self._shutdown()

    async def _run(self) -> int:
        embedded = load_settings().embedded
        # A data folder from a version without owner-only modes (letters,
        # keys, logs, embedded servers' data): restricted before anything runs.
        if changed := await asyncio.to_thread(tighten, self.data_dir):
            log.info("restricted the data folder to its owner", changed=changed)
        nats = self.settings.nats_url or self._start_nats(embedded)
        if await self._interrupted():
            return 130
        database = self.settings.database_url or self._start_postgres(embedded)
        if await self._interrupted():
            return 130
        if not await self._migrate(database):
            return 1
        self.state = RuntimeState(
            pid=os.getpid(),
            data_dir=str(self.data_dir),
            nats_url=nats,
            database_url=database,
            nats=self._server_state(self.nats),
            postgres=self._server_state(self.pg),
        )
        write_state(self.data_dir, self.state)
        self.specs = self._child_specs(nats, database)
        if self.specs:
            self.supervisor = Supervisor(self.specs, self._on_pid)
            await self.supervisor.start()
        self._print_table(nats, database)
        await self._print_first_steps(database)
        await self.stop_requested.wait()
        return 0

    def _start_nats(self, embedded: EmbeddedSection) -> str:
        self.nats = EmbeddedNats(self.data_dir, embedded.nats_port, embedded.nats_monitor_port)
        # Before choosing ports: a leftover would hold the ones we want.
        if self.nats.stop_leftover():
            log.warning("stopped nats-server left running by an earlier `tousu up`")
        self.nats.port = choose_port(
            embedded.nats_port,
            explicit=embedded.explicit("nats_port"),
            what="embedded NATS (TOUSU_EMBEDDED_NATS_PORT)",
        )
        self.nats.monitor_port = choose_port(
            embedded.nats_monitor_port,
            explicit=embedded.explicit("nats_monitor_port"),
            what="embedded NATS monitoring (TOUSU_EMBEDDED_NATS_MONITOR_PORT)",
        )
        _note_port("embedded NATS", embedded.nats_port, self.nats.port)
        _note_port("embedded NATS monitoring", embedded.nats_monitor_port, self.nats.monitor_port)
        began = time.monotonic()
        self.nats.start(embedded.start_timeout)
        log.info("nats-server ready", url=self.nats.url, seconds=round(time.monotonic() - began, 2))
        return self.nats.url

    def _start_postgres(self, embedded: EmbeddedSection) -> str:
        self.pg = EmbeddedPostgres(self.data_dir, embedded.pg_port)
        if self.pg.stop():
            log.warning("stopped PostgreSQL left running by an earlier `tousu up`")
        self.pg.port = choose_port(
            embedded.pg_port,
            explicit=embedded.explicit("pg_port"),
            what="embedded PostgreSQL (TOUSU_EMBEDDED_PG_PORT)",
        )
        _note_port("embedded PostgreSQL", embedded.pg_port, self.pg.port)
        began = time.monotonic()
        self.pg.start(embedded.start_timeout)
        log.info(
            "PostgreSQL ready",
            url=self.pg.url,
            runs=self.pg.runner.description,
            seconds=round(time.monotonic() - began, 2),
        )
        return self.pg.url

    async def _migrate(self, url: str) -> bool:
        try:
            applied = await migrate(url)
        except Exception:
            log.exception("migrations failed; stopping")
            return False
        log.info("migrations", applied=applied or "up to date")
        return True

    def _child_specs(self, nats: str, database: str) -> list[ChildSpec]:
        env = {
            **os.environ,
            "TOUSU_NATS_URL": nats,
            "TOUSU_DATABASE_URL": database,
            "TOUSU_DATA_DIR": str(self.data_dir),
            # Log files should be current when someone tails them after a crash.
            "PYTHONUNBUFFERED": "1",
        }
        log_dir = self.data_dir / "log"
        return [
            ChildSpec(
                name=name,
                argv=[sys.executable, "-m", "tousu", "service", name],
                env=env,
                log_path=log_dir / f"{name}.log",
                where=f"http://localhost:{self.settings.http_port}" if name == "gateway" else "",
            )
            for name in self.names
        ]

    def _on_pid(self, name: str, pid: int | None) -> None:
        if self.state is None:
            return
        log_path = next(spec.log_path for spec in self.specs if spec.name == name)
        self.state.services[name] = ServiceState(pid=pid, log=str(log_path))
        write_state(self.data_dir, self.state)

    @staticmethod
    def _server_state(server: EmbeddedNats | EmbeddedPostgres | None) -> ServerState | None:
        if server is None:
            return None
        return ServerState(
            pid=server.pid,
            url=server.url,
            port=server.port,
            log=str(server.log_path),
            monitor_url=server.monitor_url if isinstance(server, EmbeddedNats) else None,
        )

    def _print_table(self, nats: str, database: str) -> None:
        rows: list[Row] = []
        if self.nats is not None:
            where = f"{nats}\nmonitor {self.nats.monitor_url}"
            rows.append(Row("nats-server", self.nats.pid, where, str(self.nats.log_path)))
        else:
            rows.append(Row("nats (configured)", None, _redact(nats), "-"))
        if self.pg is not None:
            rows.append(Row("postgres", self.pg.pid, database, str(self.pg.log_path)))
        else:
            rows.append(Row("postgres (configured)", None, _redact(database), "-"))
        pids = self.supervisor.pids() if self.supervisor is not None else {}
        for spec in self.specs:
            rows.append(Row(spec.name, pids.get(spec.name), spec.where, str(spec.log_path)))
        print_table(self.console, rows, title=f"tousu up — data in {self.data_dir}")
        self.console.print(
            f"state: {state_path(self.data_dir)}\nCtrl-C stops everything."
            + ("" if self.specs else "  (--no-services: no services started)")
        )

    async def _print_first_steps(self, database: str) -> None:
        """The address to open, and while nobody can sign in, how to create the
        first staff accounts (a newcomer's next step, README.md)."""
        if "gateway" in self.names:
            self.console.print(f"Open {base_url(self.settings)}/ in a browser.", soft_wrap=True)
        try:
            conn = await asyncpg.connect(database)
            try:
                accounts = await accounts_that_sign_in(conn)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("could not count the staff accounts", error=str(exc))
            return
        log.info("staff accounts that can sign in", accounts=accounts)
        if accounts:
            return
        self.console.print(
            "No staff account can sign in yet. In another terminal, create the first "
            "ones (each asks for a password twice):",
            soft_wrap=True,
        )
        for command in first_account_commands():
            self.console.print(f"  {command}", soft_wrap=True, markup=False)

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()

        def _request_stop(sig: signal.Signals) -> None:
            if self.stop_requested.is_set():
                log.warning("already stopping; be patient", signal=sig.name)
                return
            log.info("stopping", signal=sig.name)
            self.stop_requested.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _request_stop, sig)

    async def _interrupted(self) -> bool:
        # Starting servers blocks the loop; let a queued Ctrl-C be seen.
        await asyncio.sleep(0)
        return self.stop_requested.is_set()

    async def _shutdown(self) -> None:
        # Order matters: services first (they still flush to NATS/PostgreSQL),
        # then PostgreSQL, then NATS. Each step runs even if one before failed.
        if self.supervisor is not None:
            await _guarded("stopping services", self.supervisor.stop())
        if self.pg is not None:
            _guarded_sync("stopping PostgreSQL", self.pg.stop)
        if self.nats is not None:
            _guarded_sync("stopping nats-server", self.nats.stop)
        remove_state(self.data_dir)
        log.info("stopped")


async def _guarded(what: str, step: Awaitable[None]) -> None:
    try:
        await step
    except Exception:
        log.exception(f"{what} failed")


def _guarded_sync(what: str, step: Callable[[], object]) -> None:
    try:
        step()
    except Exception:
        log.exception(f"{what} failed")


def _note_port(what: str, default: int, chosen: int) -> None:
    if chosen != default:
        log.warning(f"{what}: default port {default} is busy; using {chosen}")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


__all__ = ["PROCESSES", "service", "up"]
