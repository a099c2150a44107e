"""The consoles every command prints through.

Rich lays text and tables out for the terminal's width, and for 80 columns
when the output is not a terminal: a table piped into a file or another
program then had its tracking numbers cut to ``10…``. Output that is not a
terminal is laid out without a width limit, so nothing is cut or folded and
every line can be grepped; in a terminal, tables fit the window, and the
columns that identify a thing (tracking numbers, ids, dates) are made
``no_wrap`` by :func:`key_column` while the free text folds. A table whose
columns cannot fit the terminal at all (a phone's SSH client, a split pane
60 columns wide) is shown by :func:`show` as one block of ``header  value``
lines per row, instead of columns squeezed to a letter or two and cut.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from rich.cells import cell_len
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
    """A column of free text: folded onto more lines in a narrow terminal, never cut.
    A one-word header stays whole ("active", not "activ" over "e")."""
    if " " not in header and "min_width" not in options:
        options["min_width"] = cell_len(header)
    table.add_column(header, overflow="fold", **options)


def add_columns(table: Table, headers: Iterable[str], *, keys: Container[str] = ()) -> None:
    """``headers`` as columns: ``keys`` never wrapped or cut, the others folded
    onto more lines when the terminal is narrow (never cut to ``…``)."""
    for header in headers:
        if header in keys:
            key_column(table, header)
        else:
            text_column(table, header)


def show(out: Console, table: Table) -> None:
    """Print ``table``; in a terminal too narrow for its columns even folded
    (rich would squeeze some to nothing and cut the others with "…"), print
    each row as a block of ``header  value`` lines instead, nothing cut."""
    # Measured without the terminal's limit, which would clamp the minimum to it.
    needs = out.measure(table, options=out.options.update_width(UNLIMITED)).minimum
    if not out.is_terminal or needs <= out.width:
        out.print(table)
        return
    if table.title:
        out.print(table.title, highlight=False)
    headers = [str(column.header) for column in table.columns]
    for row in zip(*(list(column.cells) for column in table.columns), strict=True):
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True, style="bold")
        block.add_column(overflow="fold")
        for header, cell in zip(headers, row, strict=True):
            if cell != "":  # a row's blank cells (an attempt under its delivery)
                block.add_row(header, cell)
        out.print()
        out.print(block)
