"""The consoles every command prints through.

Rich lays text and tables out for the terminal's width, and for 80 columns
when the output is not a terminal: a table piped into a file or another
program then had its tracking numbers cut to ``10…``. Output that is not a
terminal is laid out without a width limit, so nothing is cut or folded and
every line can be grepped; in a terminal, tables fit the window, and the
columns that identify a thing (tracking numbers, ids, dates) are made
``no_wrap`` by :func:`key_column` while the free text folds.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

# Wide enough for any line a command prints; rich pads a table to its
# content, not to the console, so this costs nothing.
UNLIMITED = 100_000


def console(*, stderr: bool = False, **options: Any) -> Console:
    """A rich console on stdout (or stderr) that never cuts output that is not a terminal."""
    made = Console(stderr=stderr, **options)
    if not made.is_terminal and "width" not in options:
        made.width = UNLIMITED
    return made


def key_column(table: Table, header: str, **options: Any) -> None:
    """A column that is never wrapped or cut: what a person copies or reads out."""
    table.add_column(header, no_wrap=True, min_width=len(header), **options)


def text_column(table: Table, header: str, **options: Any) -> None:
    """A column of free text: folded onto more lines in a narrow terminal, never cut."""
    table.add_column(header, overflow="fold", **options)


def add_columns(table: Table, headers: Iterable[str], *, keys: Container[str] = ()) -> None:
    """``headers`` as columns: ``keys`` never wrapped or cut, the others folded
    onto more lines when the terminal is narrow (never cut to ``…``)."""
    for header in headers:
        if header in keys:
            key_column(table, header)
        else:
            text_column(table, header)
