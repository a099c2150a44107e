"""The `tousu` command line. Each sub-command group lives in its own module."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from tousu.connect import NotConfiguredError
from tousu.shared.logs import configure_logging
from tousu.shared.private_files import owner_only_umask
from tousu.shared.settings import load_settings

app = typer.Typer(
    name="tousu",
    help="tousu — 投诉受理处理和服务承诺 (complaint intake and handling).",
    no_args_is_help=True,
    add_completion=False,
)

# Modules that add commands to `app` (or register a sub-Typer) when imported.
_COMMAND_MODULES = (
    "tousu.cli.runtime_cmds",
    "tousu.cli.store_cmds",
    "tousu.cli.calendar_cmds",
    "tousu.cli.dlq_cmds",
    "tousu.cli.relay_cmds",
    "tousu.cli.bench_cmds",
    "tousu.cli.users_cmds",
    "tousu.cli.notices_cmds",
    "tousu.cli.complaint_cmds",
    "tousu.cli.demo_cmds",
    "tousu.cli.report_cmds",
    "tousu.cli.metrics_cmds",
    "tousu.cli.open311_cmds",
    "tousu.cli.nats_config_cmds",
    "tousu.cli.privacy_cmds",
    "tousu.cli.chaos_cmds",
    "tousu.cli.audit_cmds",
    "tousu.cli.attachments_cmds",
    "tousu.cli.settings_cmds",
    "tousu.cli.webhooks_cmds",
    "tousu.cli.schemas_cmds",
    "tousu.cli.import_cmds",
    "tousu.cli.credentials_cmds",
    "tousu.cli.inspection_cmds",
    "tousu.cli.improvements_cmds",
    "tousu.cli.appraisal_cmds",
    "tousu.cli.hotspots_cmds",
)


# Commands that run the benchmarks under bench/, a folder of the source
# checkout that the wheel leaves out: installed from a wheel, they say so.
_CHECKOUT_ONLY = {"tousu.cli.bench_cmds": "bench", "tousu.cli.chaos_cmds": "chaos"}


def _source_checkout_on_path() -> None:
    """In a source checkout (`make` installs tousu editable), bench/ sits beside
    the tousu package but is not installed, and the `tousu` script does not
    run from the checkout: put the checkout at the end of the path so `tousu
    bench` finds it from any folder. Installed from a wheel, the package's
    folder has no bench/ beside it, and nothing changes."""
    root = Path(__file__).resolve().parents[2]
    if (root / "bench" / "pipeline_bench.py").is_file() and (root / "pyproject.toml").is_file():
        if str(root) not in sys.path:
            sys.path.append(str(root))


def _load_commands() -> None:
    _source_checkout_on_path()
    # Imported here, not at the top: each module imports `app` from this one.
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            command = _CHECKOUT_ONLY.get(name)
            if command is None or (exc.name or "").partition(".")[0] != "bench":
                raise
            _add_checkout_only(command)


def _add_checkout_only(command: str) -> None:
    """`tousu <command>` without bench/ on the path: a clear answer, not an ImportError."""

    @app.command(
        name=command,
        help="Benchmarks: run from a source checkout of tousu (bench/ is not installed).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def checkout_only() -> None:
        typer.echo(
            f"tousu {command}: the benchmarks run from a source checkout of tousu, "
            "whose bench/ folder is not part of the installed package; "
            f"clone the repository and run `tousu {command}` there.",
            err=True,
        )
        raise typer.Exit(2)


def main() -> None:
    # Logs go to stderr, so that commands printing JSON keep stdout clean;
    # `tousu service` and `tousu up` reconfigure with their own name.
    # Whatever tousu writes (letters, keys, logs, embedded servers' data) is
    # its owner's only; children (services, servers) inherit the umask.
    owner_only_umask()
    settings = load_settings()
    configure_logging("cli", settings.log_level, settings.log_format)
    _load_commands()
    try:
        app()
    except NotConfiguredError as exc:
        # Not a bug: say what to do, without a traceback.
        typer.echo(f"tousu: {exc}", err=True)
        raise SystemExit(2) from None
