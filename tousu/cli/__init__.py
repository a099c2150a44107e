"""The `tousu` command line. Each sub-command group lives in its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="tousu",
    help="tousu — 投诉受理处理和服务承诺 (complaint intake and handling).",
    no_args_is_help=True,
    add_completion=False,
)

# Modules that add commands to `app` (or register a sub-Typer) when imported.
_COMMAND_MODULES = (
    "tousu.cli.store_cmds",
    "tousu.cli.calendar_cmds",
    "tousu.cli.dlq_cmds",
    "tousu.cli.runtime_cmds",
)


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only tolerate the module itself being absent (work in progress),
            # never a broken import inside it.
            if exc.name != name:
                raise


def main() -> None:
    _load_commands()
    app()
